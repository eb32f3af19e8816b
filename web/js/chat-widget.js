// The customer chat widget (chat.html): log in as a customer of a merchant, open (or find) the
// conversation, then talk over the WebSocket: own messages with a pending tick until `sent`, the
// agent's replies, queue position, typing, status changes and the server's error frames. Page
// wiring only; the chat pieces live in chat-common.js, the socket in live-socket.js.

import { $, markMissingBootstrap } from './dom.js';
import { RequestError, isExpired, readClaims } from './auth.js';
import {
  ConnIndicator, HistoryPager, MessageList, Outbox, TypingIndicator, TypingSender, errorMessage,
  fetchMessages, newClientId, onScrollToTop, requestJson, wireComposer, wsUrl,
} from './chat-common.js';
import { devLogin } from './dev-login.js';
import { LiveSocket } from './live-socket.js';

const TOKEN_KEY = 'sb.token.chat';

let session = null; // {token, claims, conv, viewKey, socket, list, outbox, pager, typingSender}
let conn;
let typing;
let composer;

// ---- login ------------------------------------------------------------------------------------

const login = devLogin({
  role: 'customer',
  userField: '#customer',
  hide: ['#chat'],
  invalid: 'Shop and name: 1–128 characters of A–Z a–z 0–9 _ . : @ -',
  failure: 'Could not start the chat',
  tokenKey: TOKEN_KEY,
  open: openChat,
});

// ---- the conversation -------------------------------------------------------------------------

// What this tab knows of its conversation ({id, stream, status, agent}), kept across reloads so
// that a reload does not POST /api/conversations again (which would reopen a resolved one).
function loadConv(key) {
  try {
    const conv = JSON.parse(sessionStorage.getItem(key) ?? 'null');
    return typeof conv?.id === 'string' && typeof conv.stream === 'string' ? conv : null;
  } catch {
    return null;
  }
}

function saveConv() {
  sessionStorage.setItem(session.viewKey, JSON.stringify(session.conv));
}

async function openChat(token, claims) {
  const principal = `${claims.mid}/${claims.sub}`;
  const viewKey = `sb.chat:${principal}`;
  let conv = loadConv(viewKey);
  if (!conv) {
    const opened = await requestJson(token, 'POST', '/api/conversations', { merchant: claims.mid });
    if (typeof opened.id !== 'string' || typeof opened.stream !== 'string')
      throw new RequestError('The server opened a conversation without an id or stream.');
    conv = { id: opened.id, stream: opened.stream, status: opened.status ?? 'unassigned', agent: null };
  }

  const list = new MessageList({
    scroller: $('#scroller'),
    isOwn: (data) => data.role === 'customer',
    describeStatus,
    onRetry: (id) => session?.outbox.retry(id),
  });
  const socket = new LiveSocket({
    storageKey: `sb.live.chat:${principal}`,
    url: () => (isExpired(readClaims(token)) ? null : wsUrl(token)),
  });
  const pager = new HistoryPager({ list, load: (query) => fetchMessages(token, conv.id, query) });
  session = {
    token, claims, conv, viewKey, socket, list, pager,
    outbox: new Outbox(socket),
    typingSender: new TypingSender(() => socket.send({ op: 'typing', conv: conv.id })),
  };
  saveConv();
  socket.addEventListener('state', (e) => onState(e.detail));
  socket.addEventListener('push', (e) => onPush(e.detail));
  socket.addEventListener('frame', (e) => onFrame(e.detail));

  $('#messages').replaceChildren(list.element);
  $('#chat-merchant').textContent = claims.mid;
  showStatus();
  showNotice('');
  typing.hide();
  $('#login').hidden = true;
  $('#chat').hidden = false;
  composer.focus();
  socket.start();
  loadHistory(() => pager.latest());
}

function closeChat({ forget }) {
  if (!session) return;
  const { socket, viewKey } = session;
  session = null;
  socket.stop();
  if (forget) {
    socket.forget();
    sessionStorage.removeItem(viewKey);
  }
  $('#messages').replaceChildren();
  $('#queue').hidden = true;
}

async function loadHistory(load) {
  const current = session;
  $('#older').hidden = false;
  try {
    await load();
  } catch (err) {
    if (session === current) onRequestError(err);
  } finally {
    $('#older').hidden = true;
  }
}

function onRequestError(err) {
  if (err?.status === 401) return expire();
  showNotice(err instanceof RequestError ? err.message : String(err));
}

function describeStatus({ status, agent }) {
  if (status === 'in_progress') return agent ? `Agent joined: ${agent}` : 'An agent joined';
  if (status === 'resolved') return 'Conversation resolved';
  return 'Waiting for an agent';
}

function showStatus() {
  const { status, agent } = session.conv;
  const box = $('#chat-status');
  box.dataset.status = status;
  box.textContent = status === 'resolved'
    ? 'Resolved — write again to reopen the conversation'
    : describeStatus({ status, agent });
  if (status !== 'unassigned') $('#queue').hidden = true;
}

function showNotice(text, code = '') {
  const box = $('#notice');
  box.textContent = text;
  box.dataset.code = code;
  box.hidden = !text;
}

function onPush(push) {
  if (!session || push.stream !== session.conv.stream) return;
  const { list, conv } = session;
  list.add(push);
  if (push.kind === 'status' && push.data && typeof push.data === 'object') {
    conv.status = String(push.data.status ?? conv.status);
    conv.agent = typeof push.data.agent === 'string' ? push.data.agent : null;
    saveConv();
    showStatus();
  } else if (push.kind === 'message' && push.data?.role !== 'customer') {
    typing.hide(); // the reply the indicator announced is here
  }
}

function onFrame(frame) {
  if (!session) return;
  const { conv, list, outbox } = session;
  switch (frame?.op) {
    case 'welcome':
      showNotice('');
      outbox.resendAll();
      break;
    case 'sent':
      if (frame.conv !== conv.id) break;
      outbox.confirm(frame);
      list.markSent(frame.id, frame.seq);
      break;
    case 'event':
      if (frame.conv === conv.id) onEvent(frame);
      break;
    case 'error':
      onErrorFrame(frame);
      break;
  }
}

function onEvent({ kind, data }) {
  if (kind === 'queue' && session.conv.status === 'unassigned' && Number.isFinite(data?.position)) {
    const wait = Number.isFinite(data.estimated_wait_s) ? `, about ${Math.round(data.estimated_wait_s)} s` : '';
    const queue = $('#queue');
    queue.textContent = `You are number ${data.position} in the queue${wait}`;
    queue.dataset.position = String(data.position);
    queue.hidden = false;
  } else if (kind === 'typing' && data?.role !== 'customer') {
    typing.show(`${data?.from || 'The agent'} is typing…`);
  }
}

function onErrorFrame(frame) {
  const code = String(frame.code ?? '');
  if (frame.ref === 'typing') return; // typing is best effort; a limit on it is no news
  const failed = session.outbox.fail(frame);
  const text = errorMessage(code, typeof frame.message === 'string' ? frame.message : '');
  if (failed) session.list.markFailed(failed.id, text);
  showNotice(`${failed ? 'Message not sent: ' : ''}${text} (${code})`, code);
}

function onSend(text) {
  const { conv, claims, list, outbox } = session;
  const id = newClientId();
  list.addPending(id, text, { from: claims.sub, role: 'customer' });
  outbox.send(conv.id, id, text);
}

// ---- connection state -------------------------------------------------------------------------

function onState(detail) {
  conn.show(detail);
  if (detail.state === 'expired') expire();
}

function expire() {
  if (!session) return;
  const { claims } = session;
  closeChat({ forget: false }); // logging in again as the same customer resumes where this ended
  login.expired(claims);
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  markMissingBootstrap();
  conn = new ConnIndicator($('#conn'), $('#conn-text'));
  typing = new TypingIndicator($('#typing'));
  composer = wireComposer({
    form: $('#compose'),
    input: $('#text'),
    counter: $('#counter'),
    button: $('#send'),
    onSend: (text) => session && onSend(text),
    onTyping: () => session?.typingSender.typed(),
  });
  onScrollToTop($('#scroller'), () => session?.pager.hasMore && loadHistory(() => session.pager.older()));
  $('#login-form').addEventListener('submit', login.submit);
  $('#logout').addEventListener('click', () => {
    closeChat({ forget: true });
    login.logOut();
  });

  const saved = login.restore();
  if (!saved) return;
  try {
    await openChat(saved.token, saved.claims);
  } catch (err) {
    closeChat({ forget: false });
    login.show(err instanceof RequestError ? err.message : String(err), saved.claims);
  }
}

start();
