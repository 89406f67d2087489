'use strict';
// Shared by the action's tests: temp dirs, local HTTP(S) servers, a fake
// buildrole, and the runner's file-command format.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');

const testdata = path.join(__dirname, 'testdata');
const cert = fs.readFileSync(path.join(testdata, 'localhost-cert.pem'));
const key = fs.readFileSync(path.join(testdata, 'localhost-key.pem'));

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildrole-action-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// serve starts a server on 127.0.0.1 whose handler sees every request;
// requests lists "METHOD path" of each.
async function serve(t, handler, { tls = true } = {}) {
  const requests = [];
  const onRequest = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  };
  const server = tls ? https.createServer({ cert, key }, onRequest) : http.createServer(onRequest);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }));
  const { port } = server.address();
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, requests };
}

// proxy is a forward proxy: CONNECT tunnels and absolute-form GETs.
async function proxy(t) {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url);
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  });
  const tunnels = new Set();
  server.on('connect', (req, client, head) => {
    seen.push(`CONNECT ${req.url}`);
    tunnels.add(client);
    const [host, port] = req.url.split(':');
    const up = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => {
    for (const s of tunnels) s.destroy();
    server.closeAllConnections?.();
    server.close(r);
  }));
  return { url: `http://127.0.0.1:${server.address().port}`, seen };
}

// fakeBinary writes a stand-in for buildrole (a node script) that records
// its arguments, its environment (FAKE_OUT.env, as JSON), its own path
// (FAKE_OUT.self) and any SIGINT or SIGTERM, then exits FAKE_EXIT. A shell would drop INPUT_AWS-REGION and
// the like, whose names are no shell names.
function fakeBinary(dir, name = 'buildrole') {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!${process.execPath}
const fs = require('node:fs');
const out = process.env.FAKE_OUT;
const note = (l) => fs.appendFileSync(out, l + '\\n');
note('args:' + process.argv.slice(2).join(' '));
fs.writeFileSync(out + '.env', JSON.stringify(process.env));
fs.writeFileSync(out + '.self', __filename);
process.on('SIGINT', () => { note('signal:INT'); process.exit(130); });
process.on('SIGTERM', () => { note('signal:TERM'); process.exit(143); });
if (process.env.FAKE_SLEEP) { note('ready'); setTimeout(() => {}, 10000); }
else process.exitCode = Number(process.env.FAKE_EXIT || 0);
`, { mode: 0o755 });
  return file;
}

// swap replaces file, as whatever can write it would, with a program that
// leaves FAKE_OUT.swapped behind: the proof that it ran.
function swap(file) {
  fs.chmodSync(file, 0o700);
  fs.writeFileSync(file, `#!${process.execPath}
require('node:fs').writeFileSync(process.env.FAKE_OUT + '.swapped', 'the swapped binary ran');
`);
}

// parseFileCommands reads NAME<<DELIM lines as the runner does.
function parseFileCommands(text) {
  const out = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    out[m[1]] = value.join('\n');
  }
  return out;
}

const sha256 = (b) => require('node:crypto').createHash('sha256').update(b).digest('hex');

module.exports = { tempDir, serve, proxy, fakeBinary, swap, parseFileCommands, sha256, cert, testdata };
