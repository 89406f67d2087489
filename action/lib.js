'use strict';
// The action's JavaScript: find the buildrole binary for this runner, start
// it with the runner's environment and pass its exit code on. Everything
// about AWS lives in the Go binary; nothing here reads an input or a secret.
// Node's standard library only, so the action runs from its checkout as is.

const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const tls = require('node:tls');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');

// The action's checkout. GITHUB_ACTION_PATH is set only for composite
// actions' steps, so the script's own location is the reliable source.
const ACTION_DIR = path.resolve(__dirname, '..');
const RELEASE_FILE = path.join('action', 'release.json');
const SUMS_FILE = path.join('action', 'SHA256SUMS');
const STATE_BIN = 'buildrole-bin';
const STATE_SHA = 'buildrole-sha256';
const GITHUB_COM = 'https://github.com';

// Runner values of RUNNER_OS and RUNNER_ARCH, then Node's, mapped to Go's.
const RUNNER_OS = { Linux: 'linux', macOS: 'darwin', Windows: 'windows' };
const RUNNER_ARCH = { X64: 'amd64', ARM64: 'arm64' };
const NODE_OS = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const NODE_ARCH = { x64: 'amd64', arm64: 'arm64' };

function platform(env) {
  const goos = env.RUNNER_OS ? RUNNER_OS[env.RUNNER_OS] : NODE_OS[process.platform];
  const goarch = env.RUNNER_ARCH ? RUNNER_ARCH[env.RUNNER_ARCH] : NODE_ARCH[process.arch];
  if (!goos || !goarch) {
    const seen = `${env.RUNNER_OS || process.platform}/${env.RUNNER_ARCH || process.arch}`;
    throw new Error(`buildrole is released for Linux, macOS and Windows on X64 and ARM64, not ${seen}: ` +
      'set BUILDROLE_BIN to a buildrole binary built for this runner');
  }
  return { goos, goarch, exe: goos === 'windows' ? '.exe' : '' };
}

// assetName is the release asset's file name; the Makefile's
// release-binaries target writes the same names.
function assetName(version, plat) {
  return `buildrole_${version.replace(/^v/, '')}_${plat.goos}_${plat.goarch}${plat.exe}`;
}

// readRelease returns the release this checkout is, or null at a ref that
// is no release. The release commit adds both files; the sums never come
// from where the binary does.
function readRelease(dir) {
  const rel = path.join(dir, RELEASE_FILE);
  const sums = path.join(dir, SUMS_FILE);
  const hasRel = fs.existsSync(rel);
  if (!hasRel && !fs.existsSync(sums)) return null;
  if (!hasRel || !fs.existsSync(sums)) {
    throw new Error(`${RELEASE_FILE} and ${SUMS_FILE} come together in a release commit; this checkout has only one of them`);
  }
  const r = JSON.parse(fs.readFileSync(rel, 'utf8'));
  if (!/^v\d+\.\d+\.\d+$/.test(r.version || '') || !/^[\w.-]+\/[\w.-]+$/.test(r.repository || '')) {
    throw new Error(`${RELEASE_FILE}: want {"repository": "OWNER/NAME", "version": "vX.Y.Z"}, got ${JSON.stringify(r)}`);
  }
  return { version: r.version, repository: r.repository, sums: parseSums(fs.readFileSync(sums, 'utf8')) };
}

// parseSums reads sha256sum's output: "<64 hex>  <name>" a line.
function parseSums(text) {
  const sums = new Map();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    if (!m) throw new Error(`${SUMS_FILE}: not a sha256sum line: ${JSON.stringify(line)}`);
    sums.set(m[2], m[1]);
  }
  return sums;
}

function isExecutable(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
const sha256File = (file) => sha256(fs.readFileSync(file));

// privateCopy reads src once, checks those bytes' SHA-256 against want
// (when given) and writes them into a new directory only this user may
// enter. Running the copy runs the bytes hashed, whatever becomes of src
// (the tool cache or BUILDROLE_BIN) meanwhile.
function privateCopy(src, want, env) {
  let bytes;
  try {
    bytes = fs.readFileSync(src);
  } catch (err) {
    throw new Error(err.code === 'ENOENT' ? `${src} is gone` : `cannot read ${src}: ${err.message}`);
  }
  const sha = sha256(bytes);
  if (want && sha !== want) throw new Error(`${src} has SHA-256 ${sha}, not ${want}`);
  const dir = fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'buildrole-'));
  fs.chmodSync(dir, 0o700);
  const bin = path.join(dir, process.platform === 'win32' ? 'buildrole.exe' : 'buildrole');
  fs.writeFileSync(bin, bytes, { mode: 0o500, flag: 'wx' });
  return { bin, sha };
}

// obtain finds a buildrole binary for this runner: BUILDROLE_BIN, else the
// verified release asset (from the tool cache or downloaded into it), else
// one built from this checkout's source (never with opts.noBuild). It
// returns the file and the SHA-256 its bytes must have (the release's; null
// for the others).
async function obtain(env, opts = {}) {
  const log = opts.log || console.log;
  const dir = opts.actionDir || ACTION_DIR;
  if (env.BUILDROLE_BIN) {
    if (!isExecutable(env.BUILDROLE_BIN)) {
      throw new Error(`BUILDROLE_BIN=${env.BUILDROLE_BIN} is not an executable file`);
    }
    log(`buildrole: using BUILDROLE_BIN=${env.BUILDROLE_BIN}`);
    return { file: env.BUILDROLE_BIN, sha256: null };
  }
  const release = readRelease(dir);
  if (!release && opts.noBuild) {
    // A build runs the `go` on PATH, which the job's steps can change,
    // before any check of what it produced.
    throw new Error(`buildrole@${env.GITHUB_ACTION_REF || 'local'} is no release (no ${RELEASE_FILE}), and the post ` +
      'step does not build it from source again: a build would run the job\'s `go` before any check');
  }
  if (!release) return { file: buildFromSource(env, dir, log), sha256: null };
  const plat = platform(env);
  const want = release.sums.get(assetName(release.version, plat));
  return { file: await releaseBinary(env, release, plat, { ...opts, log }), sha256: want };
}

function toolDir(env, version, plat) {
  const root = env.RUNNER_TOOL_CACHE || path.join(env.RUNNER_TEMP || os.tmpdir(), 'buildrole-tool-cache');
  // @actions/tool-cache's layout: TOOL/VERSION/ARCH beside ARCH.complete.
  const arch = plat.goarch === 'amd64' ? 'x64' : plat.goarch;
  return path.join(root, 'buildrole', version.replace(/^v/, ''), arch);
}

async function releaseBinary(env, release, plat, opts) {
  const { log } = opts;
  const asset = assetName(release.version, plat);
  const want = release.sums.get(asset);
  if (!want) throw new Error(`${SUMS_FILE} of ${release.version} lists no ${asset}`);
  const dir = toolDir(env, release.version, plat);
  const bin = path.join(dir, 'buildrole' + plat.exe);
  if (fs.existsSync(dir + '.complete') && isExecutable(bin)) {
    // Checked on every use: a cache on a self-hosted runner outlives jobs.
    if (sha256File(bin) === want) {
      log(`buildrole ${release.version} (${plat.goos}/${plat.goarch}) from the tool cache: ${bin}`);
      return bin;
    }
    log(`buildrole: ${bin} does not match ${SUMS_FILE}; downloading it again`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${asset}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  try {
    const server = (env.GITHUB_SERVER_URL || GITHUB_COM).replace(/\/+$/, '');
    const repo = env.GITHUB_ACTION_REPOSITORY || release.repository;
    const url = `${server}/${repo}/releases/download/${release.version}/${asset}`;
    let got;
    try {
      got = await download(url, tmp, env, opts);
    } catch (err) {
      // GitHub Enterprise Server with GitHub Connect runs actions from
      // github.com, and a fork need not publish releases: the release
      // commit names the repository whose release this is.
      const alt = `${opts.githubCom || GITHUB_COM}/${release.repository}/releases/download/${release.version}/${asset}`;
      if (err.status !== 404 || alt === url) throw hint(err, server, repo);
      log(`buildrole: ${url} is not there (404); trying ${alt}`);
      got = await download(alt, tmp, env, opts);
    }
    if (got !== want) {
      throw new Error(`${asset} has SHA-256 ${got}, but ${SUMS_FILE} of ${release.version} says ${want}: refusing to run it`);
    }
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, bin);
    fs.writeFileSync(dir + '.complete', '');
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  log(`buildrole ${release.version} (${plat.goos}/${plat.goarch}) downloaded, SHA-256 verified, cached: ${bin}`);
  return bin;
}

function hint(err, server, repo) {
  if (err.status === 404 && server !== GITHUB_COM) {
    err.message += `. A GitHub Enterprise Server that syncs actions without their releases has no such asset: ` +
      `upload the release's assets to ${repo} there, or set BUILDROLE_BIN`;
  }
  return err;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// download fetches url into dest and returns the file's SHA-256. Network
// errors, 408, 429 and 5xx are retried with exponential backoff; other
// statuses fail at once.
async function download(url, dest, env, opts = {}) {
  const attempts = opts.attempts || 4;
  const base = opts.backoffMs ?? 2000;
  for (let i = 1; ; i++) {
    try {
      return await fetchOnce(url, dest, env, opts);
    } catch (err) {
      if (!err.retryable || i >= attempts) {
        err.message = `download ${url}: ${err.message}` + (i > 1 ? ` (after ${i} attempts)` : '');
        throw err;
      }
      const wait = base * 2 ** (i - 1) * (0.75 + Math.random() / 2);
      (opts.log || console.log)(`buildrole: download ${url} failed (${err.message}); attempt ${i + 1} of ${attempts} in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
    }
  }
}

function httpError(message, status, retryable) {
  return Object.assign(new Error(message), { status, retryable });
}

async function fetchOnce(url, dest, env, opts) {
  let current = new URL(url);
  for (let hops = 0; hops <= 10; hops++) {
    const res = await get(current, env, opts);
    const status = res.statusCode;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, current);
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw httpError(`redirected from https to ${next.protocol}//${next.host}: refused`, status, false);
      }
      current = next;
      continue;
    }
    if (status !== 200) {
      res.resume();
      const where = current.host === new URL(url).host ? '' : ` (redirected to ${current.host})`;
      throw httpError(`HTTP ${status}${where}`, status, status >= 500 || status === 408 || status === 429);
    }
    return save(res, dest);
  }
  throw httpError('more than 10 redirects', 0, false);
}

function save(res, dest) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(dest, { mode: 0o600 });
    const fail = (err) => {
      out.destroy();
      reject(Object.assign(err, { retryable: true }));
    };
    res.on('data', (chunk) => hash.update(chunk));
    res.on('error', fail);
    res.on('aborted', () => fail(new Error('connection closed mid-download')));
    out.on('error', (err) => reject(err));
    out.on('finish', () => resolve(hash.digest('hex')));
    res.pipe(out);
  });
}

// get issues one GET, through HTTPS_PROXY/HTTP_PROXY unless NO_PROXY
// exempts the host, as the runner and @actions/http-client do.
function get(url, env, opts) {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const reqOpts = {
      method: 'GET',
      headers: { 'User-Agent': 'buildrole-action', Accept: 'application/octet-stream' },
      timeout: opts.timeoutMs || 30000,
      ca: opts.ca,
    };
    const proxy = proxyFor(url, env);
    const netError = (err) => reject(Object.assign(err, { retryable: true }));
    const send = (extra) => {
      const req = lib.request(url, { ...reqOpts, ...extra }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no data for ${reqOpts.timeout / 1000} s`)));
      req.on('error', netError);
      req.end();
    };
    if (!proxy) return send({});
    if (url.protocol === 'http:') {
      // A plain-HTTP target goes to the proxy in absolute form.
      return send({ host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: { ...reqOpts.headers, Host: url.host, ...proxyAuth(proxy) } });
    }
    const port = url.port || 443;
    const connect = http.request({
      host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${url.hostname}:${port}`,
      headers: { Host: `${url.hostname}:${port}`, ...proxyAuth(proxy) }, timeout: reqOpts.timeout,
    });
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(httpError(`proxy ${proxy.host} refused CONNECT ${url.hostname}:${port}: HTTP ${res.statusCode}`, 0, res.statusCode >= 500));
      }
      send({ createConnection: () => tls.connect({ socket, servername: net.isIP(url.hostname) ? undefined : url.hostname, ca: opts.ca }) });
    });
    connect.on('timeout', () => connect.destroy(new Error(`proxy ${proxy.host} did not answer`)));
    connect.on('error', (err) => netError(Object.assign(err, { message: `proxy ${proxy.host}: ${err.message}` })));
    connect.end();
  });
}

function proxyAuth(proxy) {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': 'Basic ' + Buffer.from(cred).toString('base64') };
}

function proxyFor(url, env) {
  const raw = url.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy;
  if (!raw || bypassProxy(url, env.NO_PROXY || env.no_proxy || '')) return null;
  return new URL(raw.includes('://') ? raw : `http://${raw}`);
}

// bypassProxy applies NO_PROXY: "*", host names that match themselves and
// their subdomains (a leading "." or "*." allowed), an optional ":port".
function bypassProxy(url, noProxy) {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (let entry of noProxy.split(',')) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry);
    if (m[2] && m[2] !== port) continue;
    const name = m[1].replace(/^\*?\./, '');
    if (host === name || host.endsWith('.' + name)) return true;
  }
  return false;
}

// buildFromSource compiles this checkout with the runner's Go, with the
// flags of the Makefile's release build.
function buildFromSource(env, dir, log) {
  const ref = env.GITHUB_ACTION_REF || 'local';
  const goVersion = spawnSync('go', ['env', 'GOVERSION'], { cwd: dir, env: buildEnv(env), encoding: 'utf8' });
  if (goVersion.error || goVersion.status !== 0) {
    throw new Error(`buildrole@${ref} is no release (no ${RELEASE_FILE}), so it is built from source, but Go is not ` +
      `available here (${goVersion.error ? goVersion.error.message : goVersion.stderr.trim()}): add actions/setup-go ` +
      'before this step, use a release (buildrole/buildrole@v1), or set BUILDROLE_BIN');
  }
  const key = crypto.createHash('sha256').update(dir).digest('hex').slice(0, 12);
  const bin = path.join(env.RUNNER_TEMP || os.tmpdir(), `buildrole-${key}`, process.platform === 'win32' ? 'buildrole.exe' : 'buildrole');
  const version = 'dev-' + ref.replace(/[^\w.\/-]/g, '_');
  const args = ['build', '-trimpath', '-buildvcs=false', '-ldflags', `-s -w -buildid= -X github.com/buildrole/buildrole/internal/cli.Version=${version}`, '-o', bin, './cmd/buildrole'];
  console.log(`::group::buildrole@${ref} is no release: building it from source with ${goVersion.stdout.trim()}`);
  log(`go ${args.join(' ')}   (in ${dir})`);
  const r = spawnSync('go', args, { cwd: dir, env: buildEnv(env), stdio: 'inherit' });
  console.log('::endgroup::');
  if (r.error || r.status !== 0) {
    throw new Error(`go build in ${dir} failed (${r.error ? r.error.message : `exit ${r.status}`}); see the lines above`);
  }
  log(`buildrole ${version} built from source: ${bin}`);
  return bin;
}

// buildEnv keeps the runner's Go network settings but none of the job's
// build settings: the binary must run here, whatever GOOS the job sets.
function buildEnv(env) {
  const out = { ...env, CGO_ENABLED: '0', GOWORK: 'off', GOFLAGS: '' };
  for (const k of ['GOOS', 'GOARCH', 'GOAMD64', 'GOARM64', 'GOEXPERIMENT']) delete out[k];
  return out;
}

// run starts bin with args and the runner's environment and resolves with
// its exit code. The runner signals only this process when a job is
// cancelled, so SIGINT and SIGTERM are passed on for buildrole to roll
// back. On Windows the console's Ctrl+C reaches the child by itself.
function run(bin, args, env) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env, stdio: 'inherit', windowsHide: true });
    const pass = (sig) => () => {
      if (process.platform !== 'win32') child.kill(sig);
    };
    const onInt = pass('SIGINT');
    const onTerm = pass('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      resolve(code);
    };
    child.on('error', (err) => {
      errorLine(`could not start ${bin}: ${err.message}`);
      finish(1);
    });
    child.on('exit', (code, signal) => finish(code ?? 128 + (os.constants.signals[signal] || 0)));
  });
}

function escapeData(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function errorLine(msg) {
  console.log(`::error::${escapeData(msg)}`);
}

// appendFileCommand writes NAME<<DELIMITER VALUE DELIMITER, as the toolkit
// does, to the runner's GITHUB_STATE-style file.
function appendFileCommand(file, name, value) {
  const delim = `ghadelimiter_${crypto.randomUUID()}`;
  fs.appendFileSync(file, `${name}<<${delim}${os.EOL}${value}${os.EOL}${delim}${os.EOL}`);
}

// main is the action's main step: obtain the binary, copy it privately,
// save the copy's path and SHA-256 for the post step, put it on PATH for
// later steps, run `buildrole up` (which reads the mode and every input).
async function main(env = process.env, opts = {}) {
  const log = opts.log || console.log;
  let copy;
  try {
    const got = await obtain(env, opts);
    copy = privateCopy(got.file, got.sha256, env);
  } catch (err) {
    errorLine(`buildrole: ${err.message}`);
    return 1;
  }
  log(`buildrole: running a private copy, SHA-256 ${copy.sha}: ${copy.bin}`);
  if (env.GITHUB_STATE) {
    appendFileCommand(env.GITHUB_STATE, STATE_BIN, copy.bin);
    appendFileCommand(env.GITHUB_STATE, STATE_SHA, copy.sha);
  }
  if (env.GITHUB_PATH) fs.appendFileSync(env.GITHUB_PATH, path.dirname(copy.bin) + os.EOL);
  return run(copy.bin, ['up'], env);
}

// post is the post step: `buildrole down` with no flags, which reads the
// state up saved. Without a binary from the main step, up never ran. It
// runs only the bytes the main step ran: the main step's copy if its
// SHA-256 still matches, else BUILDROLE_BIN or the release obtained again
// if that matches, else nothing; it never builds from source. This guards
// against a swapped binary, not against job code, which can rewrite these
// scripts too.
async function post(env = process.env, opts = {}) {
  const log = opts.log || console.log;
  const saved = env['STATE_' + STATE_BIN];
  if (!saved) {
    log('buildrole: the main step did not start buildrole, so there is nothing to delete');
    return 0;
  }
  const want = env['STATE_' + STATE_SHA] || '';
  let copy;
  try {
    if (!/^[0-9a-f]{64}$/.test(want)) throw new Error(`the main step saved no SHA-256 of ${saved}`);
    try {
      copy = privateCopy(saved, want, env);
    } catch (err) {
      log(`buildrole: ${err.message}; obtaining buildrole again`);
      copy = privateCopy((await obtain(env, { ...opts, noBuild: true })).file, want, env);
    }
  } catch (err) {
    errorLine(`buildrole: refusing to run anything but the binary the main step ran (SHA-256 ${want || 'unknown'}): ` +
      `${err.message}. Nothing ran, so this run's roles and instance profile are still there: delete them with ` +
      '`buildrole sweep --run-id RUN_ID --path PATH --aws-region REGION` (the main step\'s run-id output) from a ' +
      'binary you trust, and find out what on this runner changed the file');
    return 1;
  }
  log(`buildrole: running a private copy, SHA-256 ${copy.sha} as in the main step: ${copy.bin}`);
  try {
    return await run(copy.bin, ['down'], env);
  } finally {
    try {
      fs.rmSync(path.dirname(copy.bin), { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // The runner empties RUNNER_TEMP after the job.
    }
  }
}

module.exports = {
  assetName, platform, readRelease, parseSums, bypassProxy, obtain, privateCopy, download, run, main, post,
  STATE_BIN, STATE_SHA, RELEASE_FILE, SUMS_FILE,
};
