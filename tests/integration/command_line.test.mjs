// A bad configuration or a busy port: exit code ≠ 0 and exactly one line on stderr naming the
// problem (the contract's "one clear line").
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

const dirs = [];
let first;
after(async () => {
  await first?.close();
  for (const dir of dirs) sb.removeDir(dir);
});

// Runs the daemon on a free port with a fresh data dir plus `args`; it must refuse to start.
async function mustFail(args) {
  const dataDir = sb.tempDir('sb-it-cli-');
  dirs.push(dataDir);
  const r = await sb.runToExit(['--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args], 10000);
  const shown = `exit ${r.code} signal ${r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
  assert.equal(r.timedOut, false, `still running after 10 s: ${shown}`);
  assert.notEqual(r.code, 0, shown);
  assert.equal(r.signal, null, `exits, is not killed: ${shown}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `exactly one line on stderr: ${shown}`);
  assert.doesNotMatch(r.stdout, /listening/, shown);
  return lines[0];
}

describe('a bad configuration', () => {
  test('unknown key in --set', async () => {
    assert.match(await mustFail(['--set', 'limits.no_such_thing=5']), /limits\.no_such_thing/);
  });
  test('bad value in --set', async () => {
    assert.match(await mustFail(['--set', 'limits.max_frame=lots']), /limits\.max_frame/);
  });
  test('a value that fails validation', async () => {
    assert.match(await mustFail(['--set', 'delivery.ack_timeout=10ms']), /delivery\.ack_timeout/);
  });
  test('unknown key in a config file names the file and the key', async () => {
    const file = sb.writeConfig('[limits]\nmax_frme = 1KiB\n');
    const line = await mustFail(['--config', file]);
    assert.match(line, /max_frme/);
    assert.ok(line.includes(file), line);
  });
  test('bad value in a config file', async () => {
    const file = sb.writeConfig('[delivery]\nack_timeout = soon\n');
    assert.match(await mustFail(['--config', file]), /ack_timeout/);
  });
  test('a missing config file', async () => {
    const missing = '/nonexistent/switchboard-it.conf';
    assert.ok((await mustFail(['--config', missing])).includes(missing));
  });
  test('an unknown option', async () => {
    assert.match(await mustFail(['--frobnicate', 'yes']), /--frobnicate/);
  });
  test('a bad --listen', async () => {
    assert.match(await mustFail(['--listen', 'not-a-host-port']), /listen/);
  });
});

describe('a busy port', () => {
  test('a second daemon on the first one\'s port exits non-zero with one clear line', async () => {
    first = await sb.start();
    const line = await mustFail(['--listen', `127.0.0.1:${first.port}`]);
    assert.ok(line.includes(String(first.port)) || /in use/i.test(line), `names the port or says it is in use: ${line}`);
    const h = await sb.request(`${first.url}/healthz`);
    assert.equal(h.status, 200, 'the first daemon is unharmed');
  });
});
