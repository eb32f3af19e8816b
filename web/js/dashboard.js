// The merchant dashboard (dashboard.html): log in, follow the merchant's order stream live, show
// the connection state and unread count, optionally beep. Page wiring only; the socket, table,
// token and formatting logic live in their own modules.

import { $, markMissingBootstrap } from './dom.js';
import { localize, t } from './i18n.js';
import { isExpired, readClaims, saveToken } from './auth.js';
import { ConnIndicator, requestJson, wsUrl } from './chat-common.js';
import { devLogin } from './dev-login.js';
import { setupTestOrders } from './dev-tools.js';
import { timeZone } from './format.js';
import { LiveSocket } from './live-socket.js';
import { OrdersTable } from './orders-table.js';
import { Beeper } from './sound.js';

const BASE_TITLE = document.title;
const UNREAD_MARK_MS = 10000; // unread rows stay marked this long after the user looks
const PAGE = 50; // orders per history page

const beeper = new Beeper();
// {token, claims, socket, table, stream, acked, top (last seq when the history was first read),
//  loading, more}
let session = null;
let unread = 0;
let conn; // the connection indicator (ConnIndicator)

// ---- login ------------------------------------------------------------------------------------

const login = devLogin({
  role: 'merchant',
  userField: '#user',
  hide: ['#dashboard'],
  failure: 'Log in failed',
  open: openDashboard,
  anyRole: true, // a token pasted here is checked in onTokenSubmit
});

function onTokenSubmit(event) {
  event.preventDefault();
  const token = $('#token').value.trim();
  const claims = readClaims(token);
  if (!claims) return login.show(t('That is not a token: a JWT has three parts separated by dots.'));
  if (isExpired(claims)) return login.show(t('That token has expired.'));
  if (claims.role !== 'merchant' || typeof claims.mid !== 'string')
    return login.show(t('The dashboard needs a merchant token; this one is for role "{role}".', { role: claims.role }));
  $('#token').value = '';
  useToken(token);
}

function useToken(token) {
  saveToken(token);
  openDashboard(token, readClaims(token));
}

// ---- the live dashboard -----------------------------------------------------------------------

function openDashboard(token, claims) {
  const principal = `${claims.mid}/${claims.sub}`;
  const table = new OrdersTable($('#orders'), $('#orders-empty'), { onStep: (order, status) => setStatus(order, status) });
  const socket = new LiveSocket({
    storageKey: `sb.live:${principal}`,
    url: () => (isExpired(readClaims(token)) ? null : wsUrl(token)),
  });
  session = { token, claims, socket, table, stream: `orders:${claims.mid}`, acked: 0, top: 0, loading: false, more: true };
  socket.addEventListener('state', (e) => onState(e.detail));
  socket.addEventListener('push', (e) => onPush(e.detail));
  socket.addEventListener('frame', (e) => onFrame(e.detail));

  $('#who').textContent = t('{user} · merchant {merchant}', { user: claims.sub, merchant: claims.mid });
  $('#notice').hidden = true;
  $('#login').hidden = true;
  $('#dashboard').hidden = false;
  markRead();
  // History first, so the socket's replay of it is recognised as history, not as new orders.
  loadPage().finally(() => session?.socket === socket && socket.start());
}

// Reads the next page of order history (the newest page first, then older ones).
async function loadPage() {
  const current = session;
  if (!current || current.loading || !current.more) return;
  current.loading = true;
  $('#orders-loading').hidden = false;
  try {
    const oldest = current.table.oldestSeq();
    const query = new URLSearchParams({ limit: String(PAGE), ...(oldest ? { before: String(oldest) } : {}) });
    const body = await requestJson(current.token, 'GET', `/api/streams/${current.stream}/entries?${query}`);
    if (session !== current) return;
    const entries = Array.isArray(body.entries) ? body.entries : [];
    if (!oldest) {
      current.acked = Number(body.acked) || 0;
      current.top = Number(body.last_seq) || 0;
    }
    const fresh = current.table.addHistory(entries, current.acked);
    if (fresh) setUnread(unread + fresh);
    current.more = entries.length === PAGE && entries.at(-1)?.seq > 1;
  } catch (err) {
    if (session !== current) return;
    if (err?.status === 401) return onState({ state: 'expired' });
    $('#notice').textContent = t('Could not load the order history: {why}', { why: err?.message ?? err });
    $('#notice').hidden = false;
  } finally {
    current.loading = false;
    $('#orders-loading').hidden = true;
  }
}

function onScroll() {
  if (!session?.more) return;
  if (innerHeight + scrollY >= document.documentElement.scrollHeight - 200) loadPage();
}

function closeDashboard({ forget }) {
  if (!session) return;
  const { socket, table } = session;
  session = null;
  socket.stop();
  if (forget) {
    socket.forget();
  }
  table.clear();
  setUnread(0);
}

// Moves an order to its next status (POST /api/orders/{id}/status); the answer updates the row
// at once, the stream's order_status entry updates every other dashboard.
async function setStatus(order, status) {
  const current = session;
  try {
    const answer = await requestJson(current.token, 'POST', `/api/orders/${encodeURIComponent(order)}/status`, { status });
    if (session !== current) return;
    current.table.applyStatus({ seq: answer.seq, data: { order_id: answer.order_id, status: answer.status } });
  } catch (err) {
    if (session !== current) return;
    if (err?.status === 401) return onState({ state: 'expired' });
    current.table.stepFailed(order);
    $('#notice').textContent = t('Could not change the status of order {order}: {why}', { order, why: err?.message ?? err });
    $('#notice').hidden = false;
  }
}

function onPush(push) {
  if (push.kind === 'order_status') return session.table.applyStatus(push);
  if (push.kind !== 'order') return;
  // A replay of what the history already covered (a first hello replays every unacked entry).
  if (push.seq <= session.top) {
    const fresh = session.table.addHistory([push], session.acked);
    if (fresh) setUnread(unread + fresh);
    return;
  }
  const away = !isLooking();
  if (!session.table.add(push, { unread: away })) return;
  if (away) setUnread(unread + 1);
  beeper.beep();
}

function onFrame(frame) {
  const notice = $('#notice');
  if (frame?.op === 'welcome') {
    notice.hidden = true;
    $('#conn').title = typeof frame.node === 'string' ? t('Connected to {node}', { node: frame.node }) : '';
  } else if (frame?.op === 'error') {
    const { code = 'unknown', message = '' } = frame;
    notice.textContent = t('The server reported an error: {why}', { why: `${code} — ${message}` });
    notice.hidden = false;
  }
}

// ---- connection indicator ---------------------------------------------------------------------

function onState(detail) {
  conn.show(detail);
  if (detail.state === 'expired' && session) {
    const { claims } = session;
    closeDashboard({ forget: false }); // the same user logging in again resumes where this ended
    login.expired(claims);
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
    $('#notice').textContent = t('This browser cannot play sounds.');
    $('#notice').hidden = false;
  } else {
    beeper.beep();
  }
}

// ---- start ------------------------------------------------------------------------------------

function start() {
  markMissingBootstrap();
  localize();
  conn = new ConnIndicator($('#conn'), $('#conn-text'));
  $('#time-col').title = timeZone;
  $('#login-form').addEventListener('submit', login.submit);
  $('#token-form').addEventListener('submit', onTokenSubmit);
  $('#logout').addEventListener('click', () => {
    closeDashboard({ forget: true });
    login.logOut();
  });
  $('#sound').checked = false;
  $('#sound').addEventListener('change', onSoundToggle);
  for (const type of ['focus', 'pointerdown', 'keydown']) addEventListener(type, markRead);
  document.addEventListener('visibilitychange', markRead);
  addEventListener('scroll', onScroll, { passive: true });
  $('#search').addEventListener('input', (e) => session?.table.filter(e.target.value));
  setupTestOrders(() => session?.claims.mid ?? null);

  const saved = login.restore();
  if (saved) openDashboard(saved.token, saved.claims);
}

start();
