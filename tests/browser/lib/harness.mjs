// Shared by the browser tests: the real switchboard daemon on loopback with a fresh data dir,
// Debian's Chromium through playwright-core (never a downloaded browser), a record of what a
// page did (dialogs, script errors, WebSocket frames) and bounded waits.
// SWITCHBOARD_BIN overrides the binary, CHROMIUM_BIN the browser.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.SWITCHBOARD_BIN || path.resolve(here, '../../../build/switchboard');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const WAIT = 10_000; // the longest any single wait may take

export function freshDataDir() {
  return mkdtempSync(path.join(tmpdir(), 'switchboard-browser-'));
}

export function removeDir(dir) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// Starts the daemon and resolves {proc, port, base} once it prints its "listening" line.
export function startDaemon({ listen = '127.0.0.1:0', dataDir, args = [] }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['--listen', listen, '--data-dir', dataDir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let started = false;
    let exit = null;
    const keep = (chunk) => (output = (output + chunk).slice(-65536));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${BIN} printed no "listening" line within ${WAIT} ms:\n${output.slice(-4000)}`));
    }, WAIT);
    proc.stdout.setEncoding('utf8').on('data', (chunk) => {
      keep(chunk);
      const match = /switchboard listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (!match || started) return;
      started = true;
      clearTimeout(timer);
      const port = Number(match[1]);
      resolve({ proc, port, base: `http://127.0.0.1:${port}`, output: () => output, exited: () => exit });
    });
    proc.stderr.setEncoding('utf8').on('data', keep);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${BIN}: ${err.message} (build it, or set SWITCHBOARD_BIN)`));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      exit = `${code ?? signal}`;
      const when = started ? 'unexpectedly' : 'before listening';
      const what = `${BIN} exited ${when} (${code ?? signal}):\n${output.slice(-4000)}`;
      if (started) console.error(what); // the waits that follow will fail; this says why
      else reject(new Error(what));
    });
  });
}

// Throws when the daemon has exited: the tests after a crash fail at once instead of each
// waiting out its timeouts.
export function assertRunning(daemon) {
  const exit = daemon?.exited();
  if (exit !== null && exit !== undefined)
    throw new Error(`the daemon exited (${exit}) during an earlier test; its output is printed above`);
}

// Stops the daemon with SIGTERM (SIGKILL after 5 s) and waits for it to exit.
export async function stopDaemon(daemon) {
  if (!daemon || daemon.proc.exitCode !== null || daemon.proc.signalCode !== null) return;
  daemon.proc.removeAllListeners('exit'); // this exit is expected
  const exited = new Promise((resolve) => daemon.proc.once('exit', resolve));
  daemon.proc.kill('SIGTERM');
  const killer = setTimeout(() => daemon.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

// A JSON request to the daemon; resolves {status, body}.
export async function requestJson(daemon, method, urlPath, body, headers = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(WAIT) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(daemon.base + urlPath, init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { unparsed: text };
  }
  return { status: response.status, body: parsed };
}

export function postJson(daemon, urlPath, body, headers = {}) {
  return requestJson(daemon, 'POST', urlPath, body, headers);
}

// A dev-mode token for {sub, role, mid}.
export async function devToken(daemon, sub, role, mid) {
  const { status, body } = await postJson(daemon, '/api/dev/token', { sub, role, mid });
  if (status !== 200 || typeof body?.token !== 'string')
    throw new Error(`POST /api/dev/token answered ${status}: ${JSON.stringify(body)}`);
  return body.token;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: WAIT,
  });
}

// Records what `page` does: dialogs (dismissed), script errors, and every WebSocket it opens as
// {ws, sent: [frame], received: [frame]}.
export function watchPage(page) {
  const record = { dialogs: [], pageErrors: [], sockets: [] };
  page.on('dialog', (dialog) => {
    record.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => record.pageErrors.push(err.message));
  page.on('websocket', (ws) => {
    const socket = { ws, sent: [], received: [] };
    record.sockets.push(socket);
    ws.on('framesent', (f) => socket.sent.push(parseFrame(f.payload)));
    ws.on('framereceived', (f) => socket.received.push(parseFrame(f.payload)));
  });
  return record;
}

export function parseFrame(payload) {
  try {
    return JSON.parse(payload);
  } catch {
    return { unparsed: String(payload) };
  }
}

export function b64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

// Polls a condition every 20 ms for at most `timeout` ms; `what` names it in the failure.
export async function waitFor(condition, timeout = WAIT, what = 'condition') {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// One daemon (fresh data dir) and one browser per test file: started before its tests, stopped
// after them; each test first fails fast when the daemon died. `setup(fx)` runs once both are
// up (Node 20 runs a file's top-level before hooks concurrently, so a second hook could not wait
// for this one). Returns {daemon, browser}.
export function useDaemonAndBrowser({ args = [], setup = async () => {} } = {}) {
  const fx = { daemon: null, browser: null, dataDir: null };
  before(async () => {
    fx.dataDir = freshDataDir();
    fx.daemon = await startDaemon({ dataDir: fx.dataDir, args });
    fx.browser = await launchBrowser();
    await setup(fx);
  }, { timeout: 40_000 });
  beforeEach(() => assertRunning(fx.daemon));
  after(async () => {
    await fx.browser?.close().catch(() => {});
    await stopDaemon(fx.daemon);
    removeDir(fx.dataDir);
  }, { timeout: 15_000 });
  return fx;
}

// A person at a browser: a fresh context (en-US unless `options` say otherwise) with one page,
// every wait bounded, and what the page does recorded (watchPage). Resolves {context, page, seen}.
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  return { context, page, seen: watchPage(page) };
}
