// The customer chat widget (chat.html): log in as a customer of a merchant, open (or find) the
// conversation, then talk over the WebSocket: own messages with a pending tick until `sent`, the
// agent's replies, queue position, typing, status changes and the server's error frames. Page
// wiring only; the chat pieces live in chat-common.js, the socket in live-socket.js.

import { $, markMissingBootstrap } from './dom.js';
import { ID_PATTERN, RequestError, isExpired, readClaims } from './auth.js';
import {
  ConnIndicator, HistoryPager, MessageList, Outbox, TypingIndicator, TypingSender, errorMessage,
  fetchMessages, newClientId, onScrollToTop, senderName, wireComposer, wsUrl,
} from './chat-common.js';
import { devLogin } from './dev-login.js';
import { LiveSocket } from './live-socket.js';
import { localize, t } from './i18n.js';

const TOKEN_KEY = 'sb.token.chat';
const NAME_KEY = 'sb.chat.name';
const ANON_KEY = 'sb.chat.anon';
const LEAVE_WAIT_MS = 3000;
const NAME_MAX = 64; // characters (code points) of a display name

// A display name: any Unicode text (张三, "Li Wei"), 1–64 characters, no control characters.
// It is only shown; the identity is the token's subject.
function nameValid(name) {
  const chars = Array.from(name);
  return chars.length >= 1 && chars.length <= NAME_MAX && !/[\p{Cc}]/u.test(name);
}

// The customer's identity: the site's own id (?customer= on the page), else an anonymous id
// kept in this browser, so two customers with one name never share a chat.
function identity(merchant, name) {
  localStorage.setItem(NAME_KEY, name);
  const given = new URLSearchParams(location.search).get('customer');
  if (given && ID_PATTERN.test(given)) return given;
  let anon = localStorage.getItem(`${ANON_KEY}:${merchant}`);
  if (!anon || !ID_PATTERN.test(anon)) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    anon = `anon-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(`${ANON_KEY}:${merchant}`, anon);
  }
  return anon;
}

let session = null; // {token, claims, conv, viewKey, socket, list, outbox, pager, typingSender}
let conn;
let typing;
let composer;

// ---- login ------------------------------------------------------------------------------------

const login = devLogin({
  role: 'customer',
  userField: '#customer',
  hide: ['#chat'],
  failure: 'Could not start the chat',
  tokenKey: TOKEN_KEY,
  open: openChat,
  identity,
  nameValid,
  onShow: () => ($('#customer').value ||= localStorage.getItem(NAME_KEY) ?? ''),
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
  const name = localStorage.getItem(NAME_KEY) ?? '';
  // Nothing is opened here: the first message opens the conversation (no empty chats). Its id
  // comes with the welcome (the customer's stream), or from an earlier visit of this tab.
  const conv = loadConv(viewKey) ?? { id: null, stream: null, status: 'new', agent: null };

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
  // A conversation not opened yet has no history (404): that is an empty one.
  const pager = new HistoryPager({
    list,
    load: (query) => (conv.id ? fetchMessages(token, conv.id, query).catch((err) => {
      if (err?.status === 404) return [];
      throw err;
    }) : Promise.resolve([])),
  });
  session = {
    token, claims, conv, viewKey, socket, list, pager,
    // The display name goes with every message: agents see it instead of the anonymous id.
    outbox: new Outbox(socket, nameValid(name) ? { name } : {}),
    typingSender: new TypingSender(() => socket.send({ op: 'typing', conv: conv.id })),
  };
  saveConv();
  socket.addEventListener('state', (e) => onState(e.detail));
  socket.addEventListener('push', (e) => onPush(e.detail));
  socket.addEventListener('frame', (e) => onFrame(e.detail));

  $('#messages').replaceChildren(list.element);
  $('#chat-merchant').textContent = claims.mid;
  $('#chat-name').textContent = name;
  showStatus();
  showNotice('');
  typing.hide();
  $('#login').hidden = true;
  $('#chat').hidden = false;
  composer.focus();
  socket.start();
  if (conv.id) loadHistory(() => pager.latest());
}

// The welcome names the customer's conversation stream (conv:<id>), opened or not.
function onWelcome(frame) {
  const { conv, pager } = session;
  if (conv.id) return;
  const stream = (Array.isArray(frame.streams) ? frame.streams : []).find((s) => typeof s === 'string' && s.startsWith('conv:'));
  if (!stream) return;
  conv.id = stream.slice('conv:'.length);
  conv.stream = stream;
  saveConv();
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
  if (status === 'in_progress') return agent ? t('Agent joined: {agent}', { agent }) : t('An agent joined');
  if (status === 'resolved') return t('Conversation resolved');
  if (status === 'new') return t('Write a message to start');
  return t('Waiting for an agent');
}

function showStatus() {
  const { status, agent } = session.conv;
  const box = $('#chat-status');
  box.dataset.status = status;
  box.textContent = status === 'resolved'
    ? t('Resolved — write again to reopen the conversation')
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
      onWelcome(frame);
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
  // 'new': the queue event of a just-opened conversation may come before its status entry.
  const waiting = session.conv.status === 'unassigned' || session.conv.status === 'new';
  if (kind === 'queue' && waiting && Number.isFinite(data?.position)) {
    const queue = $('#queue');
    // Nobody online: say so, and the conversation is where the customer leaves a message.
    const nobody = data.agents_online === 0;
    queue.textContent = nobody
      ? t('Nobody is online right now. Leave a message: it is kept, and an agent answers when one is back.')
      : t('You are number {position} in the queue, about {wait} s',
        { position: data.position, wait: Math.round(data.estimated_wait_s ?? 0) });
    queue.dataset.position = String(data.position);
    queue.dataset.offline = String(nobody);
    queue.hidden = false;
  } else if (kind === 'typing' && data?.role !== 'customer') {
    const who = senderName(data);
    typing.show(who ? t('{name} is typing…', { name: who }) : t('The agent is typing…'));
  }
}

function onErrorFrame(frame) {
  const code = String(frame.code ?? '');
  if (frame.ref === 'typing') return; // typing is best effort; a limit on it is no news
  const failed = session.outbox.fail(frame);
  const text = errorMessage(code, typeof frame.message === 'string' ? frame.message : '');
  if (failed) session.list.markFailed(failed.id, text);
  showNotice(failed ? t('Message not sent: {why}', { why: `${text} (${code})` }) : `${text} (${code})`, code);
}

function onSend(text) {
  const { conv, claims, list, outbox } = session;
  if (!conv.id) return showNotice(t('Connecting… try again in a moment.'));
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
  localize();
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
  $('#logout').addEventListener('click', async () => {
    // Leaving ends the chat for both sides: the conversation is resolved (the agent sees it).
    // The socket stays open until the resolved status comes back (at most LEAVE_WAIT_MS).
    const conv = session?.conv;
    if (conv?.id && (conv.status === 'unassigned' || conv.status === 'in_progress') &&
        session.socket.send({ op: 'leave', conv: conv.id })) {
      $('#logout').disabled = true;
      for (const end = Date.now() + LEAVE_WAIT_MS; conv.status !== 'resolved' && Date.now() < end;)
        await new Promise((resolve) => setTimeout(resolve, 50));
      $('#logout').disabled = false;
    }
    closeChat({ forget: true });
    login.logOut();
  });

  const params = new URLSearchParams(location.search);
  if (params.get('embed') === '1') document.documentElement.classList.add('sb-embed');
  const saved = login.restore();
  if (!saved) {
    const merchant = params.get('merchant');
    if (merchant && ID_PATTERN.test(merchant) && !$('#merchant').value) $('#merchant').value = merchant;
    return;
  }
  try {
    await openChat(saved.token, saved.claims);
  } catch (err) {
    closeChat({ forget: false });
    login.show(err instanceof RequestError ? err.message : String(err), saved.claims);
  }
}

start();
