// The agent console (console.html): log in as an agent of a merchant, go online or away, see the
// conversations assigned to you and those waiting in the queue (with unread counts), read one
// with its history (older pages on scroll-up), reply, see and send typing, transfer and resolve.
// Page wiring only; the chat pieces live in chat-common.js, the lists in console-list.js.

import { $, markMissingBootstrap } from './dom.js';
import { localize, t } from './i18n.js';
import { RequestError, ID_PATTERN, isExpired, readClaims } from './auth.js';
import {
  ConnIndicator, HistoryPager, MessageList, Outbox, TypingIndicator, TypingSender, errorMessage,
  fetchMessages, historyEntry, newClientId, onScrollToTop, requestJson, senderName, wireComposer, wsUrl,
} from './chat-common.js';
import { devLogin } from './dev-login.js';
import {
  UnreadCounts, byLastActivity, channelLabel, customerLabel, onConversationClick, renderConversations,
} from './console-list.js';
import { LiveSocket } from './live-socket.js';

const TOKEN_KEY = 'sb.token.console';
const PRESENCE_KEY = 'sb.console.presence';
const REFRESH_MS = 15000; // the lists are also refreshed on every inbox push
const BASE_TITLE = document.title;

// {token, claims, me, socket, outbox, unread, typingSender, convs: Map id → view, queue, mine,
//  selected, refreshTimer, refreshing, refreshAgain}
let session = null;
let conn;
let typing;
let composer;

// ---- login ------------------------------------------------------------------------------------

const login = devLogin({
  role: 'agent',
  userField: '#agent',
  hide: ['#console', '#presence-box', '#logout'],
  failure: 'Log in failed',
  tokenKey: TOKEN_KEY,
  open: openConsole,
  onShow: () => ($('#who').textContent = ''),
});

// ---- the console ------------------------------------------------------------------------------

function openConsole(token, claims) {
  const principal = `${claims.mid}/${claims.sub}`;
  const socket = new LiveSocket({
    storageKey: `sb.live.console:${principal}`,
    url: () => (isExpired(readClaims(token)) ? null : wsUrl(token)),
  });
  session = {
    token, claims, socket,
    me: claims.sub,
    outbox: new Outbox(socket),
    unread: new UnreadCounts(`sb.console.unread:${principal}`),
    typingSender: new TypingSender(() => Boolean(session?.selected) &&
      socket.send({ op: 'typing', conv: session.selected })),
    convs: new Map(),
    queue: [],
    mine: [],
    selected: null,
    refreshTimer: setInterval(refresh, REFRESH_MS),
    refreshing: false,
    refreshAgain: false,
  };
  socket.addEventListener('state', (e) => onState(e.detail));
  socket.addEventListener('push', (e) => onPush(e.detail));
  socket.addEventListener('frame', (e) => onFrame(e.detail));

  $('#who').textContent = t('{agent} · merchant {merchant}', { agent: claims.sub, merchant: claims.mid });
  $('#presence').checked = sessionStorage.getItem(PRESENCE_KEY) !== 'away';
  showPresence();
  $('#presence-box').hidden = false;
  $('#logout').hidden = false;
  $('#login').hidden = true;
  $('#console').hidden = false;
  showNotice('');
  showPane();
  renderLists();
  socket.start();
  refresh();
}

function closeConsole({ forget }) {
  if (!session) return;
  const { socket, unread, refreshTimer } = session;
  session = null;
  clearInterval(refreshTimer);
  socket.stop();
  if (forget) {
    socket.forget();
    unread.forget();
  }
  $('#messages').replaceChildren();
  $('#mine').replaceChildren();
  $('#queue').replaceChildren();
  document.title = BASE_TITLE;
}

// The console's view of one conversation: its status and its message list, kept while the agent
// looks at others.
function convView(id) {
  let view = session.convs.get(id);
  if (view) return view;
  const { token, me } = session;
  const list = new MessageList({
    scroller: $('#scroller'),
    isOwn: (data) => data.role === 'agent' && data.from === me,
    describeStatus,
    onRetry: (clientId) => session?.outbox.retry(clientId),
  });
  view = {
    id, list,
    status: null, agent: null, customer: null,
    name: null, // the customer's display name, from its messages
    last: null, // the newest message: {seq, ts, text, own}
    lastSeq: null, // the stream's last seq when `last` was fetched
    pager: new HistoryPager({ list, load: (query) => fetchMessages(token, id, query) }),
    loaded: false,
    scrollTop: null, // where the reader was; null: at the newest message
    // What this agent last asked of it ({op: 'resolve'} or {op: 'transfer', to}): the agent is not
    // pushed a conversation's entries once it is taken away, so the `unassigned` that follows the
    // agent's own resolve or transfer is how the console learns that it happened.
    requested: null,
  };
  session.convs.set(id, view);
  return view;
}

const isMine = (view) => view.status === 'in_progress' && view.agent === session.me;

function describeStatus({ status, agent }) {
  if (status === 'in_progress') return agent ? t('Assigned to {agent}', { agent }) : t('Assigned');
  if (status === 'resolved') return t('Resolved');
  if (status === 'unassigned') return t('Waiting in the queue');
  return String(status ?? '');
}

// Learns from a message of `view` (a push or a history message as an entry): the customer's
// display name, and the conversation's newest message for the list.
function noteMessage(view, entry) {
  const data = entry.data && typeof entry.data === 'object' ? entry.data : {};
  if (data.role === 'customer' && typeof data.name === 'string' && data.name) view.name = data.name;
  if (!Number.isSafeInteger(entry.seq) || (view.last && view.last.seq >= entry.seq)) return;
  const own = data.role === 'agent' && data.from === session.me;
  view.last = { seq: entry.seq, ts: entry.ts, text: typeof data.text === 'string' ? data.text : '', own };
}

// Fetches the newest messages of a listed conversation whose stream moved since (`lastSeq`: the
// list's last_seq): its last message and its customer's name, for the list.
async function loadLast(view, lastSeq) {
  const current = session;
  view.lastSeq = lastSeq;
  try {
    const messages = await fetchMessages(current.token, view.id, { limit: 20 });
    if (session !== current) return;
    const entries = messages.map(historyEntry).sort((a, b) => a.seq - b.seq);
    for (const entry of entries) noteMessage(view, entry);
    renderLists();
    if (view.id === current.selected) showPane();
  } catch {
    if (session === current) view.lastSeq = null; // the preview is optional; try again later
  }
}

// A list item: the conversation as listed, with what the console learnt of it.
function listItem(c) {
  const view = convView(c.id);
  return { ...c, name: view.name, last: view.last, first: view.first ?? undefined };
}

// ---- the lists ----------------------------------------------------------------------------------

async function refresh() {
  const current = session;
  if (!current) return;
  if (current.refreshing) {
    current.refreshAgain = true;
    return;
  }
  current.refreshing = true;
  try {
    const [queue, mine] = await Promise.all(['unassigned', 'in_progress'].map(async (status) => {
      const body = await requestJson(current.token, 'GET', `/api/conversations?status=${status}`);
      return Array.isArray(body.conversations) ? body.conversations.filter((c) => typeof c?.id === 'string') : [];
    }));
    if (session !== current) return;
    for (const c of [...queue, ...mine]) {
      const view = convView(c.id);
      view.status = c.status ?? view.status;
      view.agent = c.agent ?? null;
      if (typeof c.customer === 'string') view.customer = c.customer;
    }
    // The live waiting list knows since when; keep it across this refresh.
    const live = new Map(current.queue.map((q) => [q.id, q]));
    current.queue = queue.map((c) => ({ since: live.get(c.id)?.since, first: convView(c.id).first ?? undefined, ...c }));
    current.mine = mine;
    for (const c of [...queue, ...mine]) {
      const view = convView(c.id);
      if (Number.isSafeInteger(c.last_seq) && c.last_seq > 0 && view.lastSeq !== c.last_seq) loadLast(view, c.last_seq);
    }
    renderLists();
    showPane();
    if (!current.selected && mine.length) select(mine[0].id);
  } catch (err) {
    if (session === current) onRequestError(err);
  } finally {
    current.refreshing = false;
    if (current.refreshAgain && session === current) {
      current.refreshAgain = false;
      refresh();
    }
  }
}

function renderLists() {
  if (!session) return;
  const { selected, unread } = session;
  const options = { selected, unreadOf: (id) => unread.of(id) };
  // Mine: the latest activity first. The queue stays first come, first served.
  renderConversations($('#mine'), $('#mine-empty'), byLastActivity(session.mine.map(listItem)), options);
  renderConversations($('#queue'), $('#queue-empty'), session.queue.map(listItem), options);
  const total = unread.total();
  document.title = total ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
}

// ---- the selected conversation ------------------------------------------------------------------

function select(id) {
  const scroller = $('#scroller');
  const previous = session.selected && session.convs.get(session.selected);
  if (previous) {
    const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    previous.scrollTop = atEnd ? null : scroller.scrollTop;
  }
  const view = convView(id);
  session.selected = id;
  session.unread.clear(id);
  session.typingSender.reset();
  $('#messages').replaceChildren(view.list.element);
  typing.hide();
  showConvNotice('');
  showPane();
  renderLists();
  if (view.scrollTop === null) view.list.scrollToEnd();
  else scroller.scrollTop = view.scrollTop;
  if (!view.loaded) {
    view.loaded = true;
    loadHistory(view, () => view.pager.latest()).then((ok) => ok || (view.loaded = false));
  }
}

// Runs a history load of `view`; resolves to false when it failed (and says why).
async function loadHistory(view, load) {
  const current = session;
  const older = $('#older');
  if (current.selected === view.id) older.hidden = false;
  try {
    await load();
    return true;
  } catch (err) {
    if (session === current && current.selected === view.id) onRequestError(err, showConvNotice);
    return false;
  } finally {
    if (session === current && current.selected === view.id) older.hidden = true;
  }
}

function showPane() {
  const view = session?.selected ? session.convs.get(session.selected) : null;
  $('#pane-empty').hidden = Boolean(view);
  $('#conv').hidden = !view;
  if (!view) return;
  const mine = isMine(view);
  const channel = channelLabel(view.customer);
  $('#conv-title').textContent = `${customerLabel(view)}${channel ? ` (${channel})` : ''}`;
  const status = $('#conv-status');
  status.dataset.status = view.status ?? '';
  status.textContent = view.status === 'in_progress' && view.agent === session.me
    ? t('Assigned to you')
    : view.status === 'elsewhere' ? t('No longer assigned to you') : describeStatus(view);
  for (const control of ['#transfer-to', '#transfer', '#to-queue', '#resolve']) $(control).disabled = !mine;
  $('#take').hidden = view.status !== 'unassigned';
  composer.setEnabled(mine, t(mine ? 'Write a reply'
    : view.status === 'resolved' ? 'This conversation is resolved.'
      : view.status === 'unassigned' ? 'Take this conversation to reply.'
        : 'Only the assigned agent can reply here.'));
}

function showNotice(text) {
  $('#notice').textContent = text;
  $('#notice').hidden = !text;
}

function showConvNotice(text, code = '') {
  const box = $('#conv-notice');
  box.textContent = text;
  box.dataset.code = code;
  box.hidden = !text;
}

function onRequestError(err, show = showNotice) {
  if (err?.status === 401) return expire();
  show(err instanceof RequestError ? err.message : String(err));
}

// Sends resolve or transfer for the selected conversation; says so when there is no connection.
function sendOp(frame) {
  if (!session.socket.send(frame)) {
    showConvNotice(t('Not connected — try again once the console is live.'));
    return false;
  }
  const view = convView(frame.conv);
  view.requested = { op: frame.op, to: frame.to ?? null };
  showConvNotice('');
  return true;
}

// The state of a conversation just taken away from this agent.
function afterTakenAway(view) {
  const asked = view.requested;
  view.requested = null;
  if (asked?.op === 'resolve') return { status: 'resolved', agent: view.agent };
  if (asked?.op === 'transfer' && asked.to) return { status: 'in_progress', agent: asked.to };
  if (asked?.op === 'transfer') return { status: 'unassigned', agent: null };
  return { status: 'elsewhere', agent: null }; // the server moved it (e.g. offline too long)
}

function onTransfer(event) {
  event.preventDefault();
  const to = $('#transfer-to').value.trim();
  if (!ID_PATTERN.test(to)) return showConvNotice(t('Name the agent to transfer to (or send it back to the queue).'));
  if (to === session.me) return showConvNotice(t('This conversation is already yours.'));
  if (sendOp({ op: 'transfer', conv: session.selected, to })) $('#transfer-to').value = '';
}

function onSend(text) {
  const view = session.convs.get(session.selected);
  if (!view || !isMine(view)) return;
  const id = newClientId();
  view.list.addPending(id, text, { from: session.me, role: 'agent' });
  session.outbox.send(view.id, id, text);
}

// ---- server frames ------------------------------------------------------------------------------

function onPush(push) {
  if (!session) return;
  if (push.stream === `inbox:${session.me}`) return onInbox(push);
  if (!push.stream.startsWith('conv:')) return;
  const view = convView(push.stream.slice('conv:'.length));
  const added = view.list.add(push);
  const data = push.data && typeof push.data === 'object' ? push.data : {};
  if (push.kind === 'message') {
    noteMessage(view, push);
    renderLists();
    if (view.id === session.selected) showPane();
  }
  if (push.kind === 'status') {
    view.status = String(data.status ?? view.status);
    view.agent = typeof data.agent === 'string' ? data.agent : null;
    if (view.id === session.selected) showPane();
    refresh();
  } else if (push.kind === 'message' && added === 'new' && !(data.role === 'agent' && data.from === session.me)) {
    if (view.id === session.selected) typing.hide();
    else {
      session.unread.bump(view.id);
      renderLists();
    }
  }
}

function onInbox(push) {
  const conv = push.data?.conv;
  if (typeof conv !== 'string') return;
  const view = convView(conv);
  if (typeof push.data.customer === 'string') view.customer = push.data.customer;
  if (push.kind === 'assigned') {
    view.requested = null;
    view.status = 'in_progress';
    view.agent = session.me;
    if (!session.selected) select(conv);
  } else if (push.kind === 'unassigned') {
    if (isMine(view)) Object.assign(view, afterTakenAway(view));
    session.socket.forgetStream(`conv:${conv}`);
  }
  if (view.id === session.selected) showPane();
  refresh();
}

function onFrame(frame) {
  if (!session) return;
  switch (frame?.op) {
    case 'welcome':
      showNotice('');
      sendPresence();
      session.outbox.resendAll();
      refresh();
      break;
    case 'sent':
      session.outbox.confirm(frame);
      session.convs.get(frame.conv)?.list.markSent(frame.id, frame.seq);
      break;
    case 'event':
      if (frame.kind === 'waiting') return onWaiting(frame.data?.waiting);
      if (frame.kind === 'typing' && frame.conv === session.selected &&
          !(frame.data?.role === 'agent' && frame.data?.from === session.me))
        typing.show(typingText(frame.data, session.convs.get(frame.conv)));
      break;
    case 'error':
      onErrorFrame(frame);
      break;
  }
}

// "… is typing" for a typing event: the customer by its display name when known.
function typingText(data, view) {
  const who = data?.role === 'customer' && view?.name ? view.name : senderName(data);
  return who ? t('{name} is typing…', { name: who }) : t('The customer is typing…');
}

// The pool's live waiting list: [{conv, customer, since}], oldest first. Each one's first
// message is fetched once (agents may read queued conversations).
function onWaiting(waiting) {
  if (!Array.isArray(waiting)) return;
  session.queue = waiting.filter((w) => typeof w?.conv === 'string').map((w) => {
    const view = convView(w.conv);
    if (view.agent !== session.me) Object.assign(view, { status: 'unassigned', agent: null });
    if (typeof w.customer === 'string') view.customer = w.customer;
    if (view.first === undefined) loadFirst(view);
    return { id: w.conv, status: 'unassigned', customer: w.customer, since: w.since, first: view.first ?? undefined };
  });
  renderLists();
  showPane();
}

// The first message is written just after the conversation opens: retry a few times.
async function loadFirst(view, attempt = 0) {
  view.first = null;
  try {
    const messages = await fetchMessages(session.token, view.id, { after: 0, limit: 1 });
    const text = messages[0]?.text;
    if (typeof text !== 'string' && attempt < 5 && session) {
      setTimeout(() => session && loadFirst(view, attempt + 1), 300 * (attempt + 1));
      return;
    }
    if (typeof text !== 'string' || !session) return;
    view.first = text;
    noteMessage(view, historyEntry(messages[0]));
    const item = session.queue.find((q) => q.id === view.id);
    if (item) item.first = text;
    renderLists();
  } catch {
    // the preview is optional
  }
}

function onErrorFrame(frame) {
  const code = String(frame.code ?? '');
  if (frame.ref === 'typing') return; // typing is best effort; a limit on it is no news
  const text = `${errorMessage(code, typeof frame.message === 'string' ? frame.message : '')} (${code})`;
  const failed = session.outbox.fail(frame);
  if (failed) {
    session.convs.get(failed.conv)?.list.markFailed(failed.id, text);
    if (failed.conv === session.selected) showConvNotice(t('Reply not sent: {why}', { why: text }), code);
  } else if (['transfer', 'resolve', 'take'].includes(frame.ref)) {
    for (const view of session.convs.values()) if (view.requested?.op === frame.ref) view.requested = null;
    showConvNotice(t(`Could not ${frame.ref}: {why}`, { why: text }), code);
  } else {
    showNotice(frame.ref ? t('The server reported an error for {op}: {why}', { op: frame.ref, why: text })
      : t('The server reported an error: {why}', { why: text }));
  }
}

// ---- presence and connection --------------------------------------------------------------------

function presence() {
  return $('#presence').checked ? 'online' : 'away';
}

function showPresence() {
  $('#presence-label').textContent = t(presence() === 'online' ? 'Online' : 'Away');
  $('#presence-box').dataset.presence = presence();
}

function sendPresence() {
  session?.socket.send({ op: 'presence', status: presence() });
}

function onPresenceToggle() {
  sessionStorage.setItem(PRESENCE_KEY, presence());
  showPresence();
  sendPresence(); // when not live, the next welcome sends it
  refresh();
}

function onState(detail) {
  conn.show(detail);
  if (detail.state === 'expired') expire();
}

function expire() {
  if (!session) return;
  const { claims } = session;
  closeConsole({ forget: false }); // logging in again as the same agent resumes where this ended
  login.expired(claims);
}

// ---- start ------------------------------------------------------------------------------------

function start() {
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
  onScrollToTop($('#scroller'), () => {
    const view = session?.selected && session.convs.get(session.selected);
    if (view?.loaded && view.pager.hasMore) loadHistory(view, () => view.pager.older());
  });
  onConversationClick($('#mine'), (id) => session && select(id));
  onConversationClick($('#queue'), (id) => session && select(id));
  $('#transfer-form').addEventListener('submit', onTransfer);
  $('#to-queue').addEventListener('click', () => sendOp({ op: 'transfer', conv: session.selected }));
  $('#resolve').addEventListener('click', () => sendOp({ op: 'resolve', conv: session.selected }));
  $('#take').addEventListener('click', () => sendOp({ op: 'take', conv: session.selected }));
  $('#presence').addEventListener('change', onPresenceToggle);
  $('#refresh').addEventListener('click', () => refresh());
  $('#login-form').addEventListener('submit', login.submit);
  $('#logout').addEventListener('click', () => {
    closeConsole({ forget: true });
    login.logOut();
  });

  const saved = login.restore();
  if (saved) openConsole(saved.token, saved.claims);
}

start();
