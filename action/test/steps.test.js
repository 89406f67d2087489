'use strict';
// The action's main and post entry points run as the runner runs them: a
// node process with the runner's environment and file commands.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { tempDir, serve, fakeBinary, swap, parseFileCommands, sha256, testdata } = require('./helpers.js');

const repoRoot = path.resolve(__dirname, '..', '..');

// runnerEnv is a job step's environment: this process's tools (PATH, Go's
// caches) without anything of a runner that may be running these tests.
function runnerEnv(t, extra = {}) {
  const dir = tempDir(t);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(GITHUB_|INPUT_|STATE_|RUNNER_|ACTIONS_|BUILDROLE_|AWS_|FAKE_)/.test(k)) env[k] = v;
  }
  for (const f of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
    env[f] = path.join(dir, f.toLowerCase());
    fs.writeFileSync(env[f], '');
  }
  fs.mkdirSync(path.join(dir, 'temp'));
  return {
    GITHUB_ACTIONS: 'true', RUNNER_TEMP: path.join(dir, 'temp'), RUNNER_TOOL_CACHE: path.join(dir, 'toolcache'),
    'INPUT_AWS-REGION': 'us-east-1', FAKE_OUT: path.join(dir, 'fake.out'), ...env, ...extra,
  };
}

// step runs one entry script; onStart gets the child process.
function step(script, env, onStart) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (onStart) onStart(child);
  });
}

const mainJS = path.join(repoRoot, 'action', 'main.js');
const postJS = path.join(repoRoot, 'action', 'post.js');
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

// postEnv is the post step's environment after main: the state it saved as
// STATE_*.
function postEnv(env) {
  const out = { ...env };
  for (const [k, v] of Object.entries(parseFileCommands(read(env.GITHUB_STATE)))) out['STATE_' + k] = v;
  return out;
}

test('main runs `buildrole up` from a private copy with the runner environment, passes the exit code on, and puts the copy on PATH', async (t) => {
  const bin = fakeBinary(tempDir(t));
  const env = runnerEnv(t, { BUILDROLE_BIN: bin, FAKE_EXIT: '3', 'INPUT_ROLE-TO-ASSUME': 'arn:aws:iam::123456789012:role/b' });
  const r = await step(mainJS, env);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.equal(read(env.FAKE_OUT), 'args:up\n');
  const seen = JSON.parse(read(env.FAKE_OUT + '.env'));
  assert.equal(seen['INPUT_ROLE-TO-ASSUME'], 'arn:aws:iam::123456789012:role/b');
  assert.equal(seen['INPUT_AWS-REGION'], 'us-east-1');
  assert.equal(seen.GITHUB_ACTIONS, 'true');
  const state = parseFileCommands(read(env.GITHUB_STATE));
  const copy = state['buildrole-bin'];
  assert.deepEqual(state, { 'buildrole-bin': copy, 'buildrole-sha256': sha256(fs.readFileSync(bin)) });
  assert.equal(path.dirname(path.dirname(copy)), env.RUNNER_TEMP);
  assert.deepEqual(fs.readFileSync(copy), fs.readFileSync(bin));
  assert.equal(read(env.FAKE_OUT + '.self'), copy, 'the copy ran, not BUILDROLE_BIN');
  assert.equal(read(env.GITHUB_PATH), path.dirname(copy) + '\n');
  assert.match(r.stdout, new RegExp(`running a private copy, SHA-256 ${state['buildrole-sha256']}`));
});

test('post runs `buildrole down` with no flags and the saved state, from a private copy it checked', async (t) => {
  const bin = fakeBinary(tempDir(t));
  const env = runnerEnv(t, { 'STATE_buildrole-bin': bin, 'STATE_buildrole-sha256': sha256(fs.readFileSync(bin)), 'STATE_run-id': 'r-1' });
  const r = await step(postJS, env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(read(env.FAKE_OUT), 'args:down\n');
  assert.equal(JSON.parse(read(env.FAKE_OUT + '.env'))['STATE_run-id'], 'r-1');
  const ran = read(env.FAKE_OUT + '.self');
  assert.notEqual(ran, bin);
  assert.ok(ran.startsWith(env.RUNNER_TEMP + path.sep), ran);
  assert.ok(!fs.existsSync(path.dirname(ran)), 'the copy is removed after the run');
  assert.equal(read(env.GITHUB_PATH), '', 'post adds nothing to PATH');
});

test('a binary swapped between main and post never runs: post refuses and says how to delete the run', async (t) => {
  const bin = fakeBinary(tempDir(t));
  const env = runnerEnv(t, { BUILDROLE_BIN: bin });
  assert.equal((await step(mainJS, env)).code, 0);
  const pe = postEnv(env);
  // Whatever could write both: the main step's copy and BUILDROLE_BIN.
  swap(pe['STATE_buildrole-bin']);
  swap(bin);
  const r = await step(postJS, pe);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.ok(!fs.existsSync(env.FAKE_OUT + '.swapped'), 'the swapped binary did not run');
  assert.equal(read(env.FAKE_OUT), 'args:up\n', 'nothing ran in the post step');
  const want = pe['STATE_buildrole-sha256'];
  const got = sha256(fs.readFileSync(bin));
  assert.match(r.stdout, new RegExp(`^buildrole: ${pe['STATE_buildrole-bin']} has SHA-256 ${got}, not ${want}; obtaining buildrole again$`, 'm'));
  const error = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  assert.equal(error.length, 1, r.stdout);
  assert.ok(error[0].startsWith(`::error::buildrole: refusing to run anything but the binary the main step ran (SHA-256 ${want}): ` +
    `${bin} has SHA-256 ${got}, not ${want}. Nothing ran, so this run's roles and instance profile are still there: ` +
    'delete them with `buildrole sweep --run-id RUN_ID --path PATH --aws-region REGION`'), error[0]);
  assert.deepEqual(fs.readdirSync(env.RUNNER_TEMP), [path.basename(path.dirname(pe['STATE_buildrole-bin']))], 'no copy of the swapped bytes left');
});

test('post runs the main step\'s copy when BUILDROLE_BIN was swapped, and BUILDROLE_BIN again when the copy was', async (t) => {
  const bin = fakeBinary(tempDir(t));
  const env = runnerEnv(t, { BUILDROLE_BIN: bin });
  assert.equal((await step(mainJS, env)).code, 0);
  const pe = postEnv(env);
  const original = fs.readFileSync(bin);
  swap(bin);
  let r = await step(postJS, pe);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(read(env.FAKE_OUT), 'args:up\nargs:down\n');

  fs.writeFileSync(bin, original);
  swap(pe['STATE_buildrole-bin']);
  r = await step(postJS, pe);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /has SHA-256 \w+, not \w+; obtaining buildrole again\nbuildrole: using BUILDROLE_BIN/);
  assert.equal(read(env.FAKE_OUT), 'args:up\nargs:down\nargs:down\n');
  assert.ok(!fs.existsSync(env.FAKE_OUT + '.swapped'), 'the swapped binary never ran');
});

test('post without the SHA-256 of the main step runs nothing', async (t) => {
  const bin = fakeBinary(tempDir(t));
  const env = runnerEnv(t, { BUILDROLE_BIN: bin, 'STATE_buildrole-bin': bin });
  const r = await step(postJS, env);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^::error::buildrole: refusing to run anything but the binary the main step ran \(SHA-256 unknown\): the main step saved no SHA-256 of /m);
  assert.equal(read(env.FAKE_OUT), '');
});

test('post after a main step that never started buildrole has nothing to do', async (t) => {
  const env = runnerEnv(t, { BUILDROLE_BIN: fakeBinary(tempDir(t)) });
  const r = await step(postJS, env);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /did not start buildrole, so there is nothing to delete/);
  assert.equal(read(env.FAKE_OUT), '', 'no binary run');
});

test('main fails with one error line when no binary can be had, and post then deletes nothing', async (t) => {
  const env = runnerEnv(t, { BUILDROLE_BIN: '/nonexistent/buildrole' });
  const r = await step(mainJS, env);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.trim(), '::error::buildrole: BUILDROLE_BIN=/nonexistent/buildrole is not an executable file');
  assert.equal(read(env.GITHUB_STATE), '', 'nothing saved, so post skips');
  assert.equal(read(env.GITHUB_PATH), '');
});

// fakeGo puts a `go` first on PATH, as a job step can through GITHUB_PATH,
// that leaves marker behind when it runs.
function fakeGo(t, env) {
  const dir = tempDir(t);
  const marker = path.join(dir, 'go-ran');
  fs.writeFileSync(path.join(dir, 'go'), `#!/bin/sh\necho "$@" >> '${marker}'\n`, { mode: 0o755 });
  return { env: { ...env, PATH: dir + path.delimiter + env.PATH }, marker };
}

test('post whose binary is gone at a ref that is no release runs no `go` and says how to clean up', async (t) => {
  const { env, marker } = fakeGo(t, runnerEnv(t, { 'STATE_buildrole-bin': '/gone/buildrole', 'STATE_buildrole-sha256': 'a'.repeat(64) }));
  const r = await step(postJS, env);
  assert.equal(r.code, 1);
  assert.ok(!fs.existsSync(marker), 'the post step ran `go`');
  assert.match(r.stdout, /^buildrole: \/gone\/buildrole is gone; obtaining buildrole again$/m);
  assert.match(r.stdout, /^::error::buildrole: refusing .*is no release \(no action\/release\.json\), and the post step does not build it from source again.*Nothing ran.*delete them with `buildrole sweep --run-id/m);
});

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  test(`a cancelled job's ${sig} reaches buildrole, and its exit code is the step's`, async (t) => {
    const env = runnerEnv(t, { BUILDROLE_BIN: fakeBinary(tempDir(t)), FAKE_SLEEP: '1' });
    const r = await step(mainJS, env, (child) => {
      const poll = setInterval(() => {
        if (read(env.FAKE_OUT).includes('ready')) {
          clearInterval(poll);
          child.kill(sig); // the runner signals only the node process
        }
      }, 20);
    });
    assert.equal(r.code, code, r.stdout + r.stderr);
    assert.equal(read(env.FAKE_OUT), `args:up\nready\nsignal:${sig.slice(3)}\n`);
  });
}

test('at a release commit, main downloads the asset from GITHUB_SERVER_URL, verifies it and runs it from the tool cache', async (t) => {
  // A copy of the action's scripts at a release commit.
  const checkout = tempDir(t);
  fs.mkdirSync(path.join(checkout, 'action'));
  for (const f of ['lib.js', 'main.js', 'post.js']) fs.copyFileSync(path.join(repoRoot, 'action', f), path.join(checkout, 'action', f));
  const body = fs.readFileSync(fakeBinary(tempDir(t)));
  const asset = 'buildrole_2.0.1_linux_amd64';
  fs.writeFileSync(path.join(checkout, 'action', 'release.json'), '{"repository": "buildrole/buildrole", "version": "v2.0.1"}\n');
  fs.writeFileSync(path.join(checkout, 'action', 'SHA256SUMS'), `${sha256(body)}  ${asset}\n`);
  const srv = await serve(t, (req, res) => res.writeHead(200).end(body));
  const env = runnerEnv(t, {
    GITHUB_SERVER_URL: srv.url, GITHUB_ACTION_REPOSITORY: 'buildrole/buildrole', GITHUB_ACTION_REF: 'v2',
    RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64', NODE_EXTRA_CA_CERTS: path.join(testdata, 'localhost-cert.pem'),
  });
  const r = await step(path.join(checkout, 'action', 'main.js'), env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(srv.requests, [`GET /buildrole/buildrole/releases/download/v2.0.1/${asset}`]);
  const cached = path.join(env.RUNNER_TOOL_CACHE, 'buildrole', '2.0.1', 'x64', 'buildrole');
  assert.deepEqual(fs.readFileSync(cached), body);
  const pe = postEnv(env);
  assert.deepEqual(fs.readFileSync(pe['STATE_buildrole-bin']), body);
  assert.equal(pe['STATE_buildrole-sha256'], sha256(body));
  assert.equal(read(env.GITHUB_PATH), path.dirname(pe['STATE_buildrole-bin']) + '\n', 'the private copy on PATH');
  assert.equal(read(env.FAKE_OUT), 'args:up\n');
  assert.match(r.stdout, /buildrole v2\.0\.1 \(linux\/amd64\) downloaded, SHA-256 verified, cached/);

  // The tool cache swapped after the main step: post runs the main step's
  // copy.
  const postJS2 = path.join(checkout, 'action', 'post.js');
  swap(cached);
  let post = await step(postJS2, pe);
  assert.equal(post.code, 0, post.stdout + post.stderr);
  assert.equal(read(env.FAKE_OUT), 'args:up\nargs:down\n');
  assert.equal(srv.requests.length, 1);

  // The copy swapped too: post obtains the release again (the cache no
  // longer matches the sums, so it is downloaded) and runs that.
  swap(pe['STATE_buildrole-bin']);
  post = await step(postJS2, pe);
  assert.equal(post.code, 0, post.stdout + post.stderr);
  assert.equal(read(env.FAKE_OUT), 'args:up\nargs:down\nargs:down\n');
  assert.equal(srv.requests.length, 2);
  assert.ok(!fs.existsSync(env.FAKE_OUT + '.swapped'), 'the swapped binary never ran');
});

test('at a ref that is no release, main builds buildrole from source with Go, says so, and runs it', { timeout: 600000 }, async (t) => {
  // A checkout at a branch: the action's scripts without release files,
  // beside this repository's Go source.
  const checkout = tempDir(t);
  fs.mkdirSync(path.join(checkout, 'action'));
  for (const f of ['lib.js', 'main.js', 'post.js']) fs.copyFileSync(path.join(repoRoot, 'action', f), path.join(checkout, 'action', f));
  for (const f of ['go.mod', 'go.sum', 'cmd', 'internal']) fs.symlinkSync(path.join(repoRoot, f), path.join(checkout, f));
  const env = runnerEnv(t, {
    GITHUB_ACTION_REF: 'test-ref', 'INPUT_DRY-RUN': 'true', 'INPUT_ROLE-TO-ASSUME': 'arn:aws:iam::123456789012:role/buildrole-bootstrap',
    GITHUB_REPOSITORY: 'acme/images', GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '1', GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/4/merge',
    GOOS: 'plan9', GOFLAGS: '-mod=vendor', // the job's own Go settings must not leak into the build
  });
  const r = await step(path.join(checkout, 'action', 'main.js'), env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^::group::buildrole@test-ref is no release: building it from source with go\d/m);
  assert.match(r.stdout, /up would create, in us-east-1/, 'the dry run printed the plan');
  const dir = read(env.GITHUB_PATH).trim();
  assert.ok(dir.startsWith(env.RUNNER_TEMP), dir);
  assert.equal(execFileSync(path.join(dir, 'buildrole'), ['version'], { encoding: 'utf8' }), 'buildrole dev-test-ref\n');

  const pe = postEnv(env);
  let post = await step(path.join(checkout, 'action', 'post.js'), pe);
  assert.equal(post.code, 0, post.stdout + post.stderr);
  assert.match(post.stdout, /nothing to do/);

  // The copy swapped, and a job step's `go` first on PATH: post builds
  // nothing, so runs neither, and fails.
  swap(pe['STATE_buildrole-bin']);
  const { env: pe2, marker } = fakeGo(t, pe);
  post = await step(path.join(checkout, 'action', 'post.js'), pe2);
  assert.equal(post.code, 1, post.stdout + post.stderr);
  assert.ok(!fs.existsSync(marker), 'the post step ran `go`');
  assert.ok(!fs.existsSync(env.FAKE_OUT + '.swapped'), 'the swapped binary never ran');
  assert.match(post.stdout, /^::error::buildrole: refusing to run anything but the binary the main step ran .*buildrole@test-ref is no release.*Nothing ran/m);
});
