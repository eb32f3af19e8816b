// A reconnecting, resuming, acking client for Switchboard's WebSocket (docs/PROTOCOL.md), shared
// by every page: the dashboard's order feed, later the chat widget and the agent console.
//
// - Reconnects by itself with exponential backoff and jitter (0.5 s doubling to 30 s).
// - Remembers the last seq of each stream (in sessionStorage, so a reload resumes) and sends
//   {"op":"hello","resume":{stream: seq}} on every connect.
// - Delivery is at-least-once: pushes are de-duplicated by `id` before the page sees them.
// - Acks are cumulative and batched: at most one ack frame per stream every `ackIntervalMs`, the
//   first of a quiet period at once, so a lone live push is acked immediately and a replay burst
//   is acked in a few frames, the last one at most `ackIntervalMs` after the burst ends.
// - Only a 401 means the session expired: a browser sees a refused upgrade as a bare close, so
//   after one the token is shown to an HTTP endpoint (probeUrl); when that answers 401 (three
//   times running) the state becomes 'expired' and the page should ask for a new login. Any
//   other failure (the server down, restarting, or refusing for another reason) keeps retrying.
//
// Events (all CustomEvent, data in `detail`):
//   'state'  {state, retryAt}  state: connecting | live | reconnecting | offline | expired | stopped
//   'push'   a push frame not seen before; handlers run before it is acked
//   'frame'  every other server frame: welcome, sent, error, event
// Browser main thread only.

const DEFAULTS = {
  initialDelayMs: 500,
  maxDelayMs: 30000,
  ackIntervalMs: 100,
  helloTimeoutMs: 10000,
  maxAuthFailures: 3,
  rememberIds: 5000, // ids kept in memory for de-duplication
  persistIds: 500, // of which this many survive a reload
  // Answers 401 for a bad token and something else (400) for a good one, without side effects.
  probeUrl: '/api/conversations?status=-',
};

export class LiveSocket extends EventTarget {
  #opts;
  #ws = null;
  #state = 'stopped';
  #attempt = 0;
  #authFailures = 0;
  #reconnectTimer = null;
  #helloTimer = null;
  #ackTimer = null;
  #lastAckAt = 0;
  #positions = {}; // stream → highest seq handed to the page
  #acked = {}; // stream → highest seq acked on the current connection
  #pendingAcks = new Set();
  #seen = new Set(); // insertion-ordered ids, oldest first
  #listeners = [];

  // url: () => string | null — the WebSocket URL for the next attempt; null means there are no
  //   usable credentials (state 'expired').
  // storageKey: where resume positions and recent ids live in sessionStorage (per principal).
  constructor({ url, storageKey, ...options }) {
    super();
    this.#opts = { ...DEFAULTS, ...options, url, storageKey };
    this.#restore();
  }

  get state() {
    return this.#state;
  }

  start() {
    if (this.#state !== 'stopped' && this.#state !== 'expired') return;
    this.#listen(window, 'online', () => this.#onOnline());
    this.#listen(window, 'offline', () => this.#onOffline());
    this.#listen(window, 'pagehide', () => this.#flushAcks());
    this.#attempt = 0;
    this.#authFailures = 0;
    this.#connect();
  }

  // Closes the connection and stops reconnecting; acks what was handled first.
  stop() {
    if (this.#state === 'stopped' || this.#state === 'expired') return;
    this.#flushAcks();
    this.#halt('stopped');
  }

  // Forgets resume positions and seen ids (e.g. on logout).
  forget() {
    this.#positions = {};
    this.#seen.clear();
    sessionStorage.removeItem(this.#opts.storageKey);
  }

  // Forgets the resume position of one stream the principal no longer reads (a conversation taken
  // away from an agent), after acking what was handled of it, so later hellos do not name it.
  forgetStream(stream) {
    this.#flushAcks();
    delete this.#positions[stream];
    delete this.#acked[stream];
    this.#persist();
  }

  // Sends a client frame on the live connection; false when there is none.
  send(frame) {
    if (this.#state !== 'live' || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  #listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.#listeners.push(() => target.removeEventListener(type, fn));
  }

  #setState(state, retryAt = 0) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, retryAt } }));
  }

  #halt(state) {
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#helloTimer);
    clearTimeout(this.#ackTimer);
    this.#reconnectTimer = this.#helloTimer = this.#ackTimer = null;
    for (const remove of this.#listeners.splice(0)) remove();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, 'client stopped');
    }
    this.#setState(state);
  }

  #connect() {
    this.#reconnectTimer = null;
    if (!navigator.onLine) return this.#setState('offline');
    const url = this.#opts.url();
    if (!url) return this.#halt('expired');
    this.#setState('connecting');
    const ws = new WebSocket(url);
    let opened = false;
    this.#ws = ws;
    this.#acked = {};
    ws.onopen = () => {
      opened = true;
      const hello = { op: 'hello' };
      if (Object.keys(this.#positions).length) hello.resume = { ...this.#positions };
      ws.send(JSON.stringify(hello));
      this.#helloTimer = setTimeout(() => ws.close(4000, 'no welcome'), this.#opts.helloTimeoutMs);
    };
    ws.onmessage = (event) => this.#onFrame(event.data);
    ws.onclose = (event) => this.#onClose(ws, event, opened);
  }

  #onFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn('switchboard: ignoring a frame that is not JSON');
      return;
    }
    if (frame?.op === 'push') return this.#onPush(frame);
    if (frame?.op === 'welcome') this.#onWelcome();
    this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  #onWelcome() {
    clearTimeout(this.#helloTimer);
    this.#attempt = 0;
    this.#authFailures = 0;
    this.#setState('live');
    // Re-ack what was handled before: acks sent just before the last close may have been lost,
    // and the server keeps pushing unacked entries.
    for (const stream of Object.keys(this.#positions)) this.#pendingAcks.add(stream);
    this.#scheduleAck();
  }

  #onPush(push) {
    const { stream, seq, id } = push;
    if (typeof stream !== 'string' || !Number.isSafeInteger(seq) || typeof id !== 'string') {
      console.warn('switchboard: ignoring a malformed push', push);
      return;
    }
    if (!this.#seen.has(id)) {
      this.#remember(id);
      // A listener that throws is reported by the browser; the entry still counts as delivered,
      // so a bad entry cannot make the server redeliver it forever.
      this.dispatchEvent(new CustomEvent('push', { detail: push }));
      if (!(this.#positions[stream] >= seq)) this.#positions[stream] = seq;
    }
    this.#pendingAcks.add(stream);
    this.#scheduleAck();
  }

  #remember(id) {
    this.#seen.add(id);
    if (this.#seen.size > this.#opts.rememberIds) this.#seen.delete(this.#seen.values().next().value);
  }

  #scheduleAck() {
    if (this.#ackTimer) return;
    const wait = Math.max(0, this.#lastAckAt + this.#opts.ackIntervalMs - performance.now());
    if (wait === 0) this.#flushAcks();
    else this.#ackTimer = setTimeout(() => this.#flushAcks(), wait);
  }

  #flushAcks() {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (!this.#pendingAcks.size) return;
    this.#persist();
    if (this.#state !== 'live' || this.#ws?.readyState !== WebSocket.OPEN) return; // resume covers it
    for (const stream of this.#pendingAcks) {
      const seq = this.#positions[stream];
      if (seq > (this.#acked[stream] ?? 0)) {
        this.#ws.send(JSON.stringify({ op: 'ack', stream, seq }));
        this.#acked[stream] = seq;
      }
    }
    this.#pendingAcks.clear();
    this.#lastAckAt = performance.now();
  }

  async #onClose(ws, event, opened) {
    if (ws !== this.#ws) return;
    clearTimeout(this.#helloTimer);
    this.#ws = null;
    this.#persist();
    let refused = event.code === 4401;
    if (!opened && !refused) refused = await this.#unauthorized(ws.url);
    if (this.#ws || this.#state === 'stopped' || this.#state === 'expired') return; // changed meanwhile
    if (refused && ++this.#authFailures >= this.#opts.maxAuthFailures) return this.#halt('expired');
    if (!navigator.onLine) return this.#setState('offline');
    this.#scheduleReconnect();
  }

  // True when the server answers 401 to the socket's token; false when it answers anything else
  // or cannot be reached.
  async #unauthorized(socketUrl) {
    try {
      const token = new URL(socketUrl).searchParams.get('token') ?? '';
      const response = await fetch(this.#opts.probeUrl, {
        cache: 'no-store',
        headers: { Authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(3000),
      });
      return response.status === 401;
    } catch {
      return false;
    }
  }

  #scheduleReconnect() {
    const cap = Math.min(this.#opts.maxDelayMs, this.#opts.initialDelayMs * 2 ** this.#attempt);
    const delay = cap / 2 + Math.random() * (cap / 2); // "equal jitter": spread, never too eager
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    this.#setState('reconnecting', Date.now() + delay);
  }

  #onOnline() {
    if (this.#state !== 'offline' && this.#state !== 'reconnecting') return;
    clearTimeout(this.#reconnectTimer);
    this.#attempt = 0;
    this.#connect();
  }

  #onOffline() {
    if (this.#state !== 'reconnecting') return; // an open socket fails by itself if it must
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#setState('offline');
  }

  #persist() {
    const ids = [...this.#seen].slice(-this.#opts.persistIds);
    try {
      sessionStorage.setItem(this.#opts.storageKey, JSON.stringify({ positions: this.#positions, ids }));
    } catch {
      // storage full or disabled: resuming after a reload falls back to the server's acks
    }
  }

  #restore() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.#opts.storageKey) ?? 'null');
      for (const [stream, seq] of Object.entries(saved?.positions ?? {}))
        if (Number.isSafeInteger(seq) && seq > 0) this.#positions[stream] = seq;
      for (const id of saved?.ids ?? []) if (typeof id === 'string') this.#remember(id);
    } catch {
      // unreadable: start without resume positions
    }
  }
}
