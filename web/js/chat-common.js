// Chat pieces shared by the customer widget (chat.html, chat-widget.js) and the agent console
// (console.html, console-*.js): authenticated JSON requests, the message list of one
// conversation, the outbox of `send` ops awaiting `sent`, history paging, typing notices, the
// composer with its byte counter and the connection indicator (docs/PROTOCOL.md, "Chat").
// The dashboard uses the connection indicator and wsUrl too. Every text enters the document as
// text. Browser main thread only.

import { el } from './dom.js';
import { RequestError } from './auth.js';
import { dayLabel, formatCompact, formatTime, isoTime, localDay } from './format.js';
import { lang, t } from './i18n.js';

// chat.max_text's default. The page counts against it, but the server decides: a longer limit
// or a stricter one shows up as its error frame.
export const MAX_TEXT_BYTES = 4096;
export const TYPING_INTERVAL_MS = 2000; // at most one `typing` op this often while typing
const TYPING_SHOWN_MS = 4000; // how long "… is typing" stays after the last typing event
const NEAR_EDGE_PX = 48; // this close to the bottom counts as "reading the newest"

const utf8 = new TextEncoder();
export const utf8Length = (text) => utf8.encode(text).length;

// A fresh client id for `send` (ids are 1–128 bytes of [A-Za-z0-9_.:@-]).
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function wsUrl(token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`;
}

// The server's error codes (WebSocket error frames and HTTP bodies) in words for people.
const ERROR_TEXT = {
  text_too_long: 'The message is too long for the server.',
  invalid_text: 'The message contains control characters that cannot be sent.',
  rate_limited: 'Too many messages at once — wait a moment, then retry.',
  not_found: 'This conversation is not available (any more).',
  forbidden: 'You may not do that here.',
  no_such_agent: 'There is no agent by that name.',
  unauthorized: 'Your session expired — log in again.',
};

export function errorMessage(code, fallback = '') {
  return ERROR_TEXT[code] ? t(ERROR_TEXT[code]) : (fallback || code || t('Something went wrong.'));
}

// A JSON request with the session's token. Resolves to the parsed body; throws RequestError
// (with `code`, the server's error code, when it sent one) with a message for people.
export async function requestJson(token, method, path, body) {
  const init = { method, cache: 'no-store', headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new RequestError(t('Cannot reach the server. Check that it is running.'));
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const code = typeof payload?.error === 'string' ? payload.error : '';
    const message = typeof payload?.message === 'string' ? payload.message : '';
    const err = new RequestError(errorMessage(code, message || `HTTP ${response.status}`), response.status);
    err.code = code;
    throw err;
  }
  if (payload === null || typeof payload !== 'object')
    throw new RequestError(t('The server answered {request} without a JSON object.', { request: `${method} ${path}` }), response.status);
  return payload;
}

// GET /api/conversations/{conv}/messages?query → the `messages` array.
export async function fetchMessages(token, conv, query) {
  const path = `/api/conversations/${encodeURIComponent(conv)}/messages?${new URLSearchParams(query)}`;
  const body = await requestJson(token, 'GET', path);
  if (!Array.isArray(body.messages)) throw new RequestError(t('The server sent history without messages.'));
  return body.messages;
}

// A history message as the stored entry it is (the shape of a `message` push).
export function historyEntry(m) {
  const { seq, id, ts, ...data } = m;
  return { seq, id, ts, kind: 'message', data };
}

// ---- the message list ---------------------------------------------------------------------------

const TICK = {
  pending: ['…', 'Sending'],
  sent: ['✓', 'Sent'],
  failed: ['!', 'Not sent'],
};

function timeElement(ts) {
  // Compact (today: 14:03; older: the date), the full time on hover.
  return el('time', { datetime: isoTime(ts), title: formatTime(ts), text: formatCompact(ts) });
}

function setTick(item, state) {
  const tick = item.querySelector('.sb-tick');
  if (!tick) return;
  const [text, title] = TICK[state];
  tick.dataset.state = state;
  tick.textContent = text;
  tick.title = t(title);
  tick.setAttribute('aria-label', t(title));
}

// The messages and status changes of one conversation, in an <ol> ordered by seq. Each entry is
// shown once: de-duplicated by entry id, and an own message sent from this page is one item
// whatever arrives for it (its `sent`, its push carrying `client_id`, or both). Own messages the
// server has not confirmed yet (no seq) stay at the end.
export class MessageList {
  #ol;
  #scroller;
  #isOwn;
  #describeStatus;
  #onRetry;
  #byId = new Map(); // entry id → <li>
  #byClientId = new Map(); // client id of an own message → <li>
  #atEnd = true; // whether the reader was at the newest message when it last scrolled

  // scroller: the element that scrolls (it shows this list while the list is in the document).
  // isOwn(data): whether a message's data is the viewer's own. describeStatus(data): the text of a
  // status entry. onRetry(clientId): the user asks to send a failed message again.
  constructor({ scroller, isOwn, describeStatus, onRetry }) {
    this.#ol = el('ol', { class: 'sb-messages' });
    this.#scroller = scroller;
    this.#isOwn = isOwn;
    this.#describeStatus = describeStatus;
    this.#onRetry = onRetry;
    // The scroller shrinks when a phone's keyboard opens (or the window is resized): a reader who
    // was at the newest message keeps it in view.
    scroller.addEventListener('scroll', () => {
      if (this.#attached()) this.#atEnd = this.#nearEnd();
    }, { passive: true });
    new ResizeObserver(() => {
      if (this.#attached() && this.#atEnd) this.scrollToEnd();
    }).observe(scroller);
  }

  get element() {
    return this.#ol;
  }

  // The lowest seq shown (Infinity when none): where the next older history page ends.
  oldestSeq() {
    const first = this.#ol.querySelector('li[data-seq]');
    return first ? Number(first.dataset.seq) : Infinity;
  }

  // Adds a stored entry (a push of kind message or status, or a history message). Returns 'new',
  // 'merged' (an own pending message confirmed by it) or null (already shown, or not a kind
  // shown here).
  add(entry) {
    return this.#keepingScroll(() => this.#add(entry), false);
  }

  // Adds a page of history: older: true for a page above what is shown (keeps the reader's place),
  // else the newest page (scrolls to the end).
  addPage(entries, { older = false } = {}) {
    const scroller = this.#scroller;
    const before = this.#attached() ? scroller.scrollHeight - scroller.scrollTop : 0;
    for (const entry of entries) this.#add(entry);
    if (!this.#attached()) return;
    if (older) scroller.scrollTop = scroller.scrollHeight - before;
    else this.scrollToEnd();
  }

  // Shows an own message the page is sending; `sent` or its push confirms it.
  addPending(clientId, text, data) {
    const entry = { id: null, seq: null, ts: Date.now(), kind: 'message', data: { ...data, text } };
    this.#keepingScroll(() => {
      const item = this.#renderMessage(entry, true, clientId);
      this.#byClientId.set(clientId, item);
      this.#ol.append(item);
      this.#markDays();
    }, true);
  }

  // `sent` for an own message: durable at `seq`.
  markSent(clientId, seq) {
    const item = this.#byClientId.get(clientId);
    if (!item) return;
    this.#clearFailure(item);
    setTick(item, 'sent');
    if (!item.dataset.seq && Number.isSafeInteger(seq)) {
      item.dataset.seq = String(seq);
      this.#place(item);
    }
  }

  // An own message the server refused: marked, with the reason and a Retry button.
  markFailed(clientId, reason) {
    const item = this.#byClientId.get(clientId);
    if (!item || item.dataset.seq) return;
    this.#clearFailure(item);
    setTick(item, 'failed');
    const retry = el('button', { type: 'button', class: 'btn btn-link btn-sm p-0 sb-retry', text: t('Retry') });
    retry.addEventListener('click', () => {
      this.#clearFailure(item);
      setTick(item, 'pending');
      this.#onRetry?.(clientId);
    });
    item.querySelector('.sb-bubble').append(
      el('div', { class: 'sb-msg-error', role: 'alert' }, reason, ' ', retry));
  }

  scrollToEnd() {
    if (!this.#attached()) return;
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    this.#atEnd = true;
  }

  #nearEnd() {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_EDGE_PX;
  }

  #attached() {
    return this.#ol.isConnected && this.#scroller.contains(this.#ol);
  }

  // Runs `change`; follows the newest message when the reader was at the end (or `stick`).
  #keepingScroll(change, stick) {
    const atEnd = this.#attached() && this.#nearEnd();
    const result = change();
    if (stick || atEnd) this.scrollToEnd();
    return result;
  }

  #add(entry) {
    if (typeof entry?.id !== 'string' || this.#byId.has(entry.id)) return null;
    const data = entry.data && typeof entry.data === 'object' ? entry.data : {};
    let item;
    if (entry.kind === 'message') {
      const own = Boolean(this.#isOwn(data));
      const clientId = typeof data.client_id === 'string' ? data.client_id : null;
      const pending = own && clientId ? this.#byClientId.get(clientId) : null;
      if (pending) return this.#confirm(pending, entry);
      item = this.#renderMessage(entry, own, own ? clientId : null);
      if (own && clientId) this.#byClientId.set(clientId, item);
    } else if (entry.kind === 'status') {
      item = el('li', { class: 'sb-msg sb-msg-status', dataset: { side: 'system', status: String(data.status ?? '') } },
        el('span', { class: 'sb-status-text', text: this.#describeStatus(data) }), ' ', timeElement(entry.ts));
    } else {
      return null;
    }
    item.dataset.id = entry.id;
    if (Number.isSafeInteger(entry.seq)) item.dataset.seq = String(entry.seq);
    if (Number.isFinite(entry.ts)) item.dataset.ts = String(entry.ts);
    this.#byId.set(entry.id, item);
    this.#place(item);
    return 'new';
  }

  // An own message's push (or history) arrived for the item shown while sending.
  #confirm(item, entry) {
    item.dataset.id = entry.id;
    this.#byId.set(entry.id, item);
    if (Number.isFinite(entry.ts)) {
      item.querySelector('time').replaceWith(timeElement(entry.ts));
      item.dataset.ts = String(entry.ts);
    }
    this.markSent(item.dataset.clientId, entry.seq);
    return 'merged';
  }

  #renderMessage(entry, own, clientId) {
    const { data } = entry;
    const dataset = { side: own ? 'own' : 'other', role: String(data.role ?? '') };
    if (clientId) dataset.clientId = clientId;
    if (Number.isFinite(entry.ts)) dataset.ts = String(entry.ts);
    const item = el('li', { class: 'sb-msg', dataset },
      el('div', { class: 'sb-bubble' },
        own ? null : el('div', { class: 'sb-msg-from', text: senderName(data) }),
        el('div', { class: 'sb-msg-text', text: typeof data.text === 'string' ? data.text : '' }),
        el('div', { class: 'sb-msg-meta' },
          timeElement(entry.ts),
          own ? el('span', { class: 'sb-tick' }) : null)));
    if (own) setTick(item, entry.id ? 'sent' : 'pending');
    return item;
  }

  #clearFailure(item) {
    item.querySelector('.sb-msg-error')?.remove();
  }

  // Moves an item with a seq to its place: after the last item with a lower seq, before any
  // higher seq and before every unconfirmed own message.
  #place(item) {
    const seq = Number(item.dataset.seq);
    let after = this.#ol.lastElementChild;
    while (after && (after === item || !after.dataset.seq || Number(after.dataset.seq) > seq))
      after = after.previousElementSibling;
    if (after) after.after(item);
    else this.#ol.prepend(item);
    this.#markDays();
  }

  // A day separator (li.sb-day, not a message) above the first item of each local day.
  #markDays() {
    for (const old of this.#ol.querySelectorAll(':scope > li.sb-day')) old.remove();
    let day = null;
    for (const item of [...this.#ol.children]) {
      const ts = Number(item.dataset.ts);
      if (!Number.isFinite(ts)) continue;
      const key = localDay(ts);
      if (key === day) continue;
      day = key;
      item.before(el('li', { class: 'sb-day', role: 'separator', dataset: { day: localDay(ts) } },
        el('span', { text: dayLabel(ts, lang) })));
    }
  }
}

// Who wrote a message, for people: the display name the sender gave, else its principal id.
export function senderName(data) {
  return String(typeof data?.name === 'string' && data.name ? data.name : data?.from ?? '');
}

// ---- sending ----------------------------------------------------------------------------------

// `send` ops awaiting their `sent`. Every new connection sends them again with the same ids (the
// server stores each id once); an error frame for `send` fails the oldest one, since error frames
// name only the op and a connection answers its sends in order.
export class Outbox {
  #socket;
  #extra;
  #pending = new Map(); // client id → {conv, text}, oldest first
  #failed = new Map();

  // extra: more fields of every send, e.g. {name} (the sender's display name).
  constructor(socket, extra = {}) {
    this.#socket = socket;
    this.#extra = extra;
  }

  send(conv, id, text) {
    this.#failed.delete(id);
    this.#pending.set(id, { conv, text });
    this.#socket.send({ op: 'send', conv, id, text, ...this.#extra }); // false when offline: resent on welcome
  }

  // Sends a failed message again; false when there is no such failed message.
  retry(id) {
    const failed = this.#failed.get(id);
    if (!failed) return false;
    this.send(failed.conv, id, failed.text);
    return true;
  }

  resendAll() {
    for (const [id, { conv, text }] of this.#pending) this.#socket.send({ op: 'send', conv, id, text, ...this.#extra });
  }

  // A `sent` frame arrived.
  confirm(frame) {
    this.#pending.delete(frame.id);
  }

  // An error frame arrived: the failed send {id, conv, text}, or null when it is not about `send`.
  fail(frame) {
    if (frame.ref !== 'send') return null;
    const oldest = this.#pending.entries().next();
    if (oldest.done) return null;
    const [id, send] = oldest.value;
    this.#pending.delete(id);
    this.#failed.set(id, send);
    return { id, ...send };
  }
}

// ---- history ----------------------------------------------------------------------------------

// Loads a conversation's history into its MessageList: the newest page, then older pages on
// demand (cursor: the oldest seq shown).
export class HistoryPager {
  #load;
  #list;
  #limit;
  #more = true;
  #busy = null;

  // load(query) resolves to an array of history messages (GET …/messages?query).
  constructor({ load, list, limit = 30 }) {
    this.#load = load;
    this.#list = list;
    this.#limit = limit;
  }

  get hasMore() {
    return this.#more;
  }

  latest() {
    return this.#run(async () => {
      const page = await this.#load({ limit: this.#limit });
      this.#list.addPage(page.map(historyEntry));
      this.#more = page.length === this.#limit;
    });
  }

  // Resolves once the next older page (if any) is shown; true when it loaded one.
  older() {
    if (!this.#more || this.#busy) return this.#busy ?? Promise.resolve(false);
    const before = this.#list.oldestSeq();
    if (!(before > 1 && Number.isFinite(before))) {
      this.#more = before === Infinity; // nothing shown yet: latest() has not run
      return Promise.resolve(false);
    }
    return this.#run(async () => {
      const page = await this.#load({ before, limit: this.#limit });
      this.#list.addPage(page.map(historyEntry), { older: true });
      this.#more = page.length === this.#limit;
      return page.length > 0;
    });
  }

  #run(job) {
    this.#busy = job().finally(() => (this.#busy = null));
    return this.#busy;
  }
}

// Calls `near()` whenever the reader scrolls to (almost) the top of `scroller`.
export function onScrollToTop(scroller, near) {
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < NEAR_EDGE_PX) near();
  }, { passive: true });
}

// ---- typing -----------------------------------------------------------------------------------

// Sends `typing` at most once every TYPING_INTERVAL_MS while the user types.
export class TypingSender {
  #send;
  #last = -Infinity;

  // send(): sends one typing op; false when it could not.
  constructor(send) {
    this.#send = send;
  }

  typed() {
    const now = performance.now();
    if (now - this.#last < TYPING_INTERVAL_MS) return;
    if (this.#send()) this.#last = now;
  }

  // For another conversation the next keystroke may announce typing at once. (Not after a send:
  // the server drops typing ops closer than its own interval, silently.)
  reset() {
    this.#last = -Infinity;
  }
}

// "… is typing" in `element` for a while after each typing event.
export class TypingIndicator {
  #element;
  #timer = null;

  constructor(element) {
    this.#element = element;
    this.hide();
  }

  show(text) {
    this.#element.textContent = text;
    this.#element.hidden = false;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.hide(), TYPING_SHOWN_MS);
  }

  hide() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#element.hidden = true;
    this.#element.textContent = '';
  }
}

// ---- composing --------------------------------------------------------------------------------

// Wires a compose form: Enter sends, Shift+Enter (or Enter while composing with an IME) adds a
// newline, a counter shows the UTF-8 bytes against MAX_TEXT_BYTES and the send button is disabled
// when the text is empty or too long. onSend(text) takes the text; onTyping() runs on each edit.
// Returns {setEnabled(on, placeholder), focus()}.
export function wireComposer({ form, input, counter, button, onSend, onTyping }) {
  let enabled = true;
  const update = () => {
    const bytes = utf8Length(input.value);
    const over = bytes > MAX_TEXT_BYTES;
    counter.textContent = t('{bytes} / {max} bytes', { bytes, max: MAX_TEXT_BYTES });
    counter.classList.toggle('is-over', over);
    counter.dataset.over = String(over);
    input.setAttribute('aria-invalid', String(over));
    button.disabled = !enabled || over || input.value.trim() === '';
  };
  const submit = () => {
    update();
    if (button.disabled) return;
    const text = input.value;
    input.value = '';
    update();
    onSend(text);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submit();
  });
  input.addEventListener('input', () => {
    update();
    if (input.value) onTyping?.();
  });
  update();
  return {
    setEnabled(on, placeholder = '') {
      enabled = on;
      input.disabled = !on;
      input.placeholder = placeholder;
      update();
    },
    focus: () => input.focus(),
  };
}

// ---- connection indicator ---------------------------------------------------------------------

const STATE_TEXT = {
  connecting: () => t('Connecting…'),
  live: () => t('Live'),
  reconnecting: (retryAt) => t('Reconnecting in {s}s', { s: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) }),
  offline: () => t('Offline — waiting for the network'),
  expired: () => t('Session expired'),
  stopped: () => t('Not connected'),
};

// Shows a LiveSocket's state in a `.sb-conn` element (data-state, data-retry-at) and its text in
// `label`, counting down while reconnecting.
export class ConnIndicator {
  #conn;
  #label;
  #countdown = null;

  constructor(conn, label) {
    this.#conn = conn;
    this.#label = label;
  }

  show({ state, retryAt }) {
    this.#conn.dataset.state = state;
    if (state === 'reconnecting') this.#conn.dataset.retryAt = String(Math.round(retryAt));
    else delete this.#conn.dataset.retryAt;
    const render = () => (this.#label.textContent = (STATE_TEXT[state] ?? (() => state))(retryAt));
    render();
    clearInterval(this.#countdown);
    this.#countdown = state === 'reconnecting' ? setInterval(render, 250) : null;
  }
}
