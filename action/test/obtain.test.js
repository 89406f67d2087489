'use strict';
// How the action obtains buildrole: BUILDROLE_BIN, the verified release
// asset (downloaded, cached, retried, through a proxy), and the errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('../lib.js');
const { tempDir, serve, proxy, fakeBinary, sha256, cert } = require('./helpers.js');

test('runner OS and architecture map to Go release names', () => {
  const cases = [
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64' }, 'buildrole_1.2.3_linux_amd64'],
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM64' }, 'buildrole_1.2.3_linux_arm64'],
    [{ RUNNER_OS: 'macOS', RUNNER_ARCH: 'ARM64' }, 'buildrole_1.2.3_darwin_arm64'],
    [{ RUNNER_OS: 'macOS', RUNNER_ARCH: 'X64' }, 'buildrole_1.2.3_darwin_amd64'],
    [{ RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64' }, 'buildrole_1.2.3_windows_amd64.exe'],
    [{ RUNNER_OS: 'Windows', RUNNER_ARCH: 'ARM64' }, 'buildrole_1.2.3_windows_arm64.exe'],
  ];
  for (const [env, want] of cases) {
    assert.equal(lib.assetName('v1.2.3', lib.platform(env)), want, JSON.stringify(env));
  }
  for (const env of [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM' }, { RUNNER_OS: 'Linux', RUNNER_ARCH: 'X86' }, { RUNNER_OS: 'FreeBSD', RUNNER_ARCH: 'X64' }]) {
    assert.throws(() => lib.platform(env), /set BUILDROLE_BIN/, JSON.stringify(env));
  }
});

test('SHA256SUMS is read in sha256sum format and nothing else', () => {
  const h = 'a'.repeat(64);
  const sums = lib.parseSums(`${h}  buildrole_1.2.3_linux_amd64\n${'b'.repeat(64)} *buildrole_1.2.3_windows_amd64.exe\n\n`);
  assert.equal(sums.get('buildrole_1.2.3_linux_amd64'), h);
  assert.equal(sums.get('buildrole_1.2.3_windows_amd64.exe'), 'b'.repeat(64));
  assert.throws(() => lib.parseSums(`${h.slice(1)}  x\n`), /not a sha256sum line/);
  assert.throws(() => lib.parseSums(`${h}  two words\n`), /not a sha256sum line/);
});

test('a checkout is a release only with both release files', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'action'));
  assert.equal(lib.readRelease(dir), null);
  fs.writeFileSync(path.join(dir, lib.SUMS_FILE), `${'c'.repeat(64)}  buildrole_1.2.3_linux_amd64\n`);
  assert.throws(() => lib.readRelease(dir), /come together/);
  fs.writeFileSync(path.join(dir, lib.RELEASE_FILE), '{"repository": "buildrole/buildrole", "version": "main"}');
  assert.throws(() => lib.readRelease(dir), /vX\.Y\.Z/);
  fs.writeFileSync(path.join(dir, lib.RELEASE_FILE), '{"repository": "buildrole/buildrole", "version": "v1.2.3"}');
  const r = lib.readRelease(dir);
  assert.equal(r.version, 'v1.2.3');
  assert.equal(r.sums.get('buildrole_1.2.3_linux_amd64'), 'c'.repeat(64));
});

test('NO_PROXY exempts hosts, their subdomains and ports', () => {
  const u = (s) => new URL(s);
  const cases = [
    ['https://github.com/x', '', false],
    ['https://github.com/x', '*', true],
    ['https://github.com/x', 'github.com', true],
    ['https://api.github.com/x', '.github.com', true],
    ['https://api.github.com/x', '*.github.com', true],
    ['https://api.github.com/x', 'github.com', true],
    ['https://notgithub.com/x', 'github.com', false],
    ['https://ghe.corp:8443/x', 'ghe.corp:443', false],
    ['https://ghe.corp:8443/x', 'ghe.corp:8443', true],
    ['https://GHE.corp/x', ' other , ghe.CORP ', true],
    ['http://127.0.0.1:9/x', '127.0.0.1', true],
  ];
  for (const [url, list, want] of cases) {
    assert.equal(lib.bypassProxy(u(url), list), want, `${url} with NO_PROXY=${list}`);
  }
});

test('BUILDROLE_BIN is used when it is an executable, refused when not', async (t) => {
  const dir = tempDir(t);
  const bin = fakeBinary(dir);
  const logs = [];
  assert.deepEqual(await lib.obtain({ BUILDROLE_BIN: bin }, { log: (l) => logs.push(l) }), { file: bin, sha256: null });
  assert.match(logs.join('\n'), /using BUILDROLE_BIN/);
  const plain = path.join(dir, 'plain');
  fs.writeFileSync(plain, 'not a program', { mode: 0o644 });
  await assert.rejects(lib.obtain({ BUILDROLE_BIN: plain }), /is not an executable file/);
  await assert.rejects(lib.obtain({ BUILDROLE_BIN: path.join(dir, 'missing') }), /is not an executable file/);
});

test('a private copy holds the bytes read, checked against the SHA-256 wanted, in a directory of its own', (t) => {
  const src = path.join(tempDir(t), 'buildrole');
  fs.writeFileSync(src, 'the verified bytes', { mode: 0o755 });
  const env = { RUNNER_TEMP: tempDir(t) };
  const copy = lib.privateCopy(src, sha256('the verified bytes'), env);
  assert.equal(copy.sha, sha256('the verified bytes'));
  assert.equal(path.dirname(path.dirname(copy.bin)), env.RUNNER_TEMP);
  assert.equal(fs.readFileSync(copy.bin, 'utf8'), 'the verified bytes');
  if (process.platform !== 'win32') {
    assert.equal(fs.statSync(path.dirname(copy.bin)).mode & 0o777, 0o700, 'only this user enters the directory');
    assert.equal(fs.statSync(copy.bin).mode & 0o777, 0o500, 'nobody writes the copy without a chmod');
  }
  // Without a SHA-256 to check (BUILDROLE_BIN, a build here), the copy's is
  // what the main step records.
  assert.equal(lib.privateCopy(src, null, env).sha, sha256('the verified bytes'));
  assert.notEqual(lib.privateCopy(src, null, env).bin, copy.bin, 'a new directory each time');

  const before = fs.readdirSync(env.RUNNER_TEMP).length;
  assert.throws(() => lib.privateCopy(src, 'f'.repeat(64), env), new RegExp(`has SHA-256 ${copy.sha}, not ${'f'.repeat(64)}$`));
  assert.throws(() => lib.privateCopy(path.join(env.RUNNER_TEMP, 'missing'), null, env), /missing is gone$/);
  assert.equal(fs.readdirSync(env.RUNNER_TEMP).length, before, 'nothing copied');
});

// release lays out an action checkout at a release commit whose sums list
// body as the linux/amd64 asset.
function release(t, body, { version = 'v1.2.3', sum } = {}) {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'action'));
  fs.writeFileSync(path.join(dir, lib.RELEASE_FILE), JSON.stringify({ repository: 'buildrole/buildrole', version }));
  const asset = `buildrole_${version.slice(1)}_linux_amd64`;
  fs.writeFileSync(path.join(dir, lib.SUMS_FILE), `${sum || sha256(body)}  ${asset}\n${'d'.repeat(64)}  buildrole_${version.slice(1)}_darwin_arm64\n`);
  return { dir, asset, path: `/buildrole/buildrole/releases/download/${version}/${asset}` };
}

const linux = (extra) => ({ RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64', ...extra });

test('the release asset is downloaded through retries and a redirect, verified, cached, then reused', async (t) => {
  const body = Buffer.from('#!/bin/sh\necho released buildrole\n');
  const rel = release(t, body);
  let failures = 1;
  const srv = await serve(t, (req, res) => {
    if (req.url === rel.path && failures-- > 0) return res.writeHead(503).end();
    if (req.url === rel.path) return res.writeHead(302, { Location: '/objects/asset?sig=x' }).end();
    if (req.url === '/objects/asset?sig=x') return res.writeHead(200).end(body);
    res.writeHead(404).end();
  });
  const cache = tempDir(t);
  const env = linux({ GITHUB_SERVER_URL: srv.url, GITHUB_ACTION_REPOSITORY: 'buildrole/buildrole', RUNNER_TOOL_CACHE: cache });
  const logs = [];
  const opts = { actionDir: rel.dir, ca: cert, backoffMs: 1, log: (l) => logs.push(l) };
  const { file: bin, sha256: want } = await lib.obtain(env, opts);
  assert.equal(bin, path.join(cache, 'buildrole', '1.2.3', 'x64', 'buildrole'));
  assert.equal(want, sha256(body), 'the SHA-256 the sums give, for the copy to check again');
  assert.deepEqual(fs.readFileSync(bin), body);
  assert.ok(fs.existsSync(path.join(cache, 'buildrole', '1.2.3', 'x64.complete')), 'tool cache marker');
  assert.equal(fs.statSync(bin).mode & 0o111, 0o111, 'executable');
  assert.deepEqual(srv.requests, [`GET ${rel.path}`, `GET ${rel.path}`, 'GET /objects/asset?sig=x']);
  assert.match(logs.join('\n'), /attempt 2 of 4/);
  assert.match(logs.join('\n'), /SHA-256 verified/);
  assert.deepEqual(fs.readdirSync(path.dirname(bin)), ['buildrole'], 'no temporary files left');

  // A second job on the same runner: no request at all.
  assert.equal((await lib.obtain(env, opts)).file, bin);
  assert.equal(srv.requests.length, 3);
  assert.match(logs.at(-1), /from the tool cache/);

  // A cached file that no longer matches the sums is fetched again.
  fs.writeFileSync(bin, 'tampered');
  assert.equal((await lib.obtain(env, opts)).file, bin);
  assert.deepEqual(fs.readFileSync(bin), body);
  assert.equal(srv.requests.length, 5);
});

test('an asset whose SHA-256 differs from the committed sums is refused and not cached', async (t) => {
  const rel = release(t, Buffer.from('the real binary'));
  const srv = await serve(t, (req, res) => res.writeHead(200).end('something else'));
  const cache = tempDir(t);
  const env = linux({ GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: cache });
  await assert.rejects(lib.obtain(env, { actionDir: rel.dir, ca: cert, log: () => {} }), /refusing to run it/);
  const dir = path.join(cache, 'buildrole', '1.2.3', 'x64');
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing cached, no temporary file');
  assert.ok(!fs.existsSync(dir + '.complete'));
});

test('a platform the sums do not list fails before any download', async (t) => {
  const rel = release(t, Buffer.from('x'));
  const srv = await serve(t, (req, res) => res.writeHead(200).end('x'));
  const env = { RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64', GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tempDir(t) };
  await assert.rejects(lib.obtain(env, { actionDir: rel.dir, ca: cert, log: () => {} }), /lists no buildrole_1\.2\.3_windows_amd64\.exe/);
  assert.equal(srv.requests.length, 0);
});

test('GitHub Enterprise Server without the release falls back to github.com; without either the error says what to do', async (t) => {
  const body = Buffer.from('binary from github.com');
  const rel = release(t, body);
  const ghes = await serve(t, (req, res) => res.writeHead(404).end());
  const dotcom = await serve(t, (req, res) => (req.url === rel.path ? res.writeHead(200).end(body) : res.writeHead(404).end()));
  const env = linux({ GITHUB_SERVER_URL: ghes.url, GITHUB_ACTION_REPOSITORY: 'mirror/buildrole', RUNNER_TOOL_CACHE: tempDir(t) });
  const logs = [];
  const { file } = await lib.obtain(env, { actionDir: rel.dir, ca: cert, githubCom: dotcom.url, log: (l) => logs.push(l) });
  assert.deepEqual(fs.readFileSync(file), body);
  assert.deepEqual(ghes.requests, [`GET /mirror/buildrole/releases/download/v1.2.3/${rel.asset}`], 'the mirror is asked first, once (404 is not retried)');
  assert.deepEqual(dotcom.requests, [`GET ${rel.path}`], 'then the release repository on github.com');
  assert.match(logs.join('\n'), /404\); trying/);

  const nowhere = await serve(t, (req, res) => res.writeHead(404).end());
  const env2 = linux({ GITHUB_SERVER_URL: ghes.url, RUNNER_TOOL_CACHE: tempDir(t) });
  await assert.rejects(
    lib.obtain(env2, { actionDir: rel.dir, ca: cert, githubCom: nowhere.url, log: () => {} }),
    (err) => /HTTP 404/.test(err.message) && err.message.includes(`${nowhere.url}${rel.path}`),
  );
  await assert.rejects(
    lib.obtain(linux({ GITHUB_SERVER_URL: ghes.url, RUNNER_TOOL_CACHE: tempDir(t) }), { actionDir: rel.dir, ca: cert, githubCom: ghes.url, log: () => {} }),
    /upload the release's assets to buildrole\/buildrole there, or set BUILDROLE_BIN/,
  );
});

test('server errors are retried, then reported with the URL and the attempts', async (t) => {
  const srv = await serve(t, (req, res) => res.writeHead(502).end());
  const dest = path.join(tempDir(t), 'f');
  await assert.rejects(
    lib.download(`${srv.url}/a`, dest, {}, { ca: cert, attempts: 3, backoffMs: 1, log: () => {} }),
    (err) => err.message === `download ${srv.url}/a: HTTP 502 (after 3 attempts)`,
  );
  assert.equal(srv.requests.length, 3);
});

test('a connection refused is retried and named', async (t) => {
  await assert.rejects(
    lib.download('https://127.0.0.1:1/a', path.join(tempDir(t), 'f'), {}, { ca: cert, attempts: 2, backoffMs: 1, log: () => {} }),
    /^Error: download https:\/\/127\.0\.0\.1:1\/a: connect ECONNREFUSED 127\.0\.0\.1:1 \(after 2 attempts\)$/,
  );
});

test('a redirect from https to http is refused', async (t) => {
  const srv = await serve(t, (req, res) => res.writeHead(302, { Location: 'http://127.0.0.1:1/x' }).end());
  await assert.rejects(
    lib.download(`${srv.url}/a`, path.join(tempDir(t), 'f'), {}, { ca: cert, log: () => {} }),
    /redirected from https to http:\/\/127\.0\.0\.1:1: refused/,
  );
  assert.equal(srv.requests.length, 1);
});

test('HTTPS_PROXY tunnels the download with CONNECT; NO_PROXY goes direct', async (t) => {
  const body = Buffer.from('through the proxy');
  const srv = await serve(t, (req, res) => res.writeHead(200).end(body));
  const p = await proxy(t);
  const dest = path.join(tempDir(t), 'f');
  const got = await lib.download(`${srv.url}/a`, dest, { HTTPS_PROXY: p.url }, { ca: cert, log: () => {} });
  assert.equal(got, sha256(body));
  assert.deepEqual(fs.readFileSync(dest), body);
  assert.deepEqual(p.seen, [`CONNECT 127.0.0.1:${srv.port}`]);

  await lib.download(`${srv.url}/b`, dest, { https_proxy: p.url, NO_PROXY: 'localhost,127.0.0.1' }, { ca: cert, log: () => {} });
  assert.equal(p.seen.length, 1, 'not through the proxy');
  assert.equal(srv.requests.length, 2);

  const plain = await serve(t, (req, res) => res.writeHead(200).end(body), { tls: false });
  await lib.download(`${plain.url}/c`, dest, { HTTP_PROXY: p.url }, { log: () => {} });
  assert.deepEqual(p.seen.at(-1), `GET ${plain.url}/c`, 'plain HTTP in absolute form');
});
