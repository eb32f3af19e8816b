// The merchant dashboard (dashboard.html): log in, follow the merchant's order stream live, show
// the connection state and unread count, optionally beep. Page wiring only; the socket, table,
// token and formatting logic live in their own modules.

import { $, markMissingBootstrap } from './dom.js';
import {
  RequestError, ID_PATTERN, clearToken, isExpired, loadToken, mintDevToken, readClaims, saveToken,
} from './auth.js';
import { setupTestOrders } from './dev-tools.js';
import { timeZone } from './format.js';
import { LiveSocket } from './live-socket.js';
import { OrdersTable } from './orders-table.js';
import { Beeper } from './sound.js';

const BASE_TITLE = document.title;
const EXPIRED_MESSAGE = 'Your session expired — log in again.';
const UNREAD_MARK_MS = 10000; // unread rows stay marked this long after the user looks

const beeper = new Beeper();
let session = null; // {token, claims, socket, table}
let unread = 0;
let countdown = null;

// ---- login ------------------------------------------------------------------------------------

function showLogin(message = '', claims = null) {
  $('#dashboard').hidden = true;
  $('#login').hidden = false;
  const box = $('#login-message');
  box.textContent = message;
  box.hidden = !message;
  if (claims?.mid) $('#merchant').value = claims.mid;
  if (claims?.sub) $('#user').value = claims.sub;
  ($('#merchant').value ? $('#user') : $('#merchant')).focus();
}

async function onLoginSubmit(event) {
  event.preventDefault();
  const merchant = $('#merchant').value.trim();
  const user = $('#user').value.trim();
  if (!ID_PATTERN.test(merchant) || !ID_PATTERN.test(user))
    return showLogin('Merchant id and user name: 1–128 characters of A–Z a–z 0–9 _ . : @ -');
  const button = $('#login-submit');
  button.disabled = true;
  try {
    useToken(await mintDevToken(user, 'merchant', merchant));
  } catch (err) {
    showLogin(err instanceof RequestError ? err.message : `Log in failed: ${err}`);
  } finally {
    button.disabled = false;
  }
}

function onTokenSubmit(event) {
  event.preventDefault();
  const token = $('#token').value.trim();
  const claims = readClaims(token);
  if (!claims) return showLogin('That is not a token: a JWT has three parts separated by dots.');
  if (isExpired(claims)) return showLogin('That token has expired.');
  if (claims.role !== 'merchant' || typeof claims.mid !== 'string')
    return showLogin(`The dashboard needs a merchant token; this one is for role "${claims.role}".`);
  $('#token').value = '';
  useToken(token);
}

function useToken(token) {
  saveToken(token);
  openDashboard(token, readClaims(token));
}

// ---- the live dashboard -----------------------------------------------------------------------

function wsUrl(token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`;
}

function openDashboard(token, claims) {
  const principal = `${claims.mid}/${claims.sub}`;
  const table = new OrdersTable($('#orders'), $('#orders-empty'), {
    storageKey: `sb.orders:${principal}`,
  });
  const socket = new LiveSocket({
    storageKey: `sb.live:${principal}`,
    url: () => (isExpired(readClaims(token)) ? null : wsUrl(token)),
  });
  session = { token, claims, socket, table };
  socket.addEventListener('state', (e) => onState(e.detail));
  socket.addEventListener('push', (e) => onPush(e.detail));
  socket.addEventListener('frame', (e) => onFrame(e.detail));

  $('#who').textContent = `${claims.sub} · merchant ${claims.mid}`;
  $('#notice').hidden = true;
  $('#login').hidden = true;
  $('#dashboard').hidden = false;
  markRead();
  socket.start();
}

function closeDashboard({ forget }) {
  if (!session) return;
  const { socket, table } = session;
  session = null;
  socket.stop();
  if (forget) {
    socket.forget();
    table.clear();
  }
  table.close();
  setUnread(0);
}

function onPush(push) {
  if (push.kind !== 'order') return;
  const away = !isLooking();
  if (!session.table.add(push, { unread: away })) return;
  if (away) setUnread(unread + 1);
  beeper.beep();
}

function onFrame(frame) {
  const notice = $('#notice');
  if (frame?.op === 'welcome') {
    notice.hidden = true;
    $('#conn').title = typeof frame.node === 'string' ? `Connected to ${frame.node}` : '';
  } else if (frame?.op === 'error') {
    const { code = 'unknown', message = '' } = frame;
    notice.textContent = `The server reported an error: ${code} — ${message}`;
    notice.hidden = false;
  }
}

// ---- connection indicator ---------------------------------------------------------------------

const STATE_TEXT = {
  connecting: () => 'Connecting…',
  live: () => 'Live',
  reconnecting: (retryAt) => `Reconnecting in ${Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))}s`,
  offline: () => 'Offline — waiting for the network',
  expired: () => 'Session expired',
  stopped: () => 'Not connected',
};

function onState({ state, retryAt }) {
  const conn = $('#conn');
  conn.dataset.state = state;
  if (state === 'reconnecting') conn.dataset.retryAt = String(Math.round(retryAt));
  else delete conn.dataset.retryAt;
  const render = () => ($('#conn-text').textContent = STATE_TEXT[state](retryAt));
  render();
  clearInterval(countdown);
  countdown = state === 'reconnecting' ? setInterval(render, 250) : null;
  if (state === 'expired' && session) {
    const { claims } = session;
    closeDashboard({ forget: false }); // the same user logging in again resumes where this ended
    clearToken();
    showLogin(EXPIRED_MESSAGE, claims);
  }
}

// ---- unread count, title and sound ------------------------------------------------------------

function isLooking() {
  return document.visibilityState === 'visible' && document.hasFocus();
}

function setUnread(count) {
  unread = count;
  const badge = $('#unread');
  badge.textContent = String(count);
  badge.hidden = count === 0;
  document.title = count ? `(${count}) ${BASE_TITLE}` : BASE_TITLE;
}

function markRead() {
  if (!isLooking() || !session) return;
  if (unread) setUnread(0);
  const table = session.table;
  setTimeout(() => table.markAllRead(), UNREAD_MARK_MS);
}

function onSoundToggle(event) {
  if (!event.target.checked) return beeper.disable();
  if (!beeper.enable()) {
    event.target.checked = false;
    $('#notice').textContent = 'This browser cannot play sounds.';
    $('#notice').hidden = false;
  } else {
    beeper.beep();
  }
}

// ---- start ------------------------------------------------------------------------------------

function start() {
  markMissingBootstrap();
  $('#time-col').textContent = `Time (${timeZone})`;
  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#token-form').addEventListener('submit', onTokenSubmit);
  $('#logout').addEventListener('click', () => {
    closeDashboard({ forget: true });
    clearToken();
    showLogin();
  });
  $('#sound').checked = false;
  $('#sound').addEventListener('change', onSoundToggle);
  for (const type of ['focus', 'pointerdown', 'keydown']) addEventListener(type, markRead);
  document.addEventListener('visibilitychange', markRead);
  setupTestOrders(() => session?.claims.mid ?? null);

  const token = loadToken();
  const claims = token ? readClaims(token) : null;
  if (claims && !isExpired(claims)) return openDashboard(token, claims);
  if (token) clearToken();
  showLogin(token ? EXPIRED_MESSAGE : '', claims);
}

start();
