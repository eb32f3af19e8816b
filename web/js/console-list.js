// The agent console's conversation lists (console.html): conversations assigned to the agent and
// those waiting in the queue, each a button with the customer and an unread count, the selected
// one marked with aria-current. Unread counts survive a reload (sessionStorage).

import { el } from './dom.js';

// Renders `convs` ([{id, status, agent, customer, last_seq}]) as buttons into `box`; `empty` is
// shown when there are none.
export function renderConversations(box, empty, convs, { selected, unreadOf }) {
  box.replaceChildren(...convs.map((conv) => conversationButton(conv, conv.id === selected, unreadOf(conv.id))));
  empty.hidden = convs.length > 0;
}

// The channel a customer writes from, by the principal's prefix (docs/PROTOCOL.md, Channels):
// "WeChat" for wx:<openid>, "App" for app:<user>, "" for the web widget.
export function channelLabel(customer) {
  if (typeof customer !== 'string') return '';
  if (customer.startsWith('wx:')) return 'WeChat';
  if (customer.startsWith('app:')) return 'App';
  return '';
}

function conversationButton(conv, selected, unread) {
  const name = typeof conv.customer === 'string' && conv.customer ? conv.customer : conv.id;
  const channel = channelLabel(conv.customer);
  return el('button', {
    type: 'button',
    class: `list-group-item list-group-item-action sb-conv${selected ? ' active' : ''}`,
    dataset: { conv: conv.id, status: String(conv.status ?? '') },
    'aria-current': selected ? 'true' : null,
  },
  el('span', { class: 'sb-conv-name', text: name }),
  channel ? el('span', { class: 'badge text-bg-secondary sb-channel', text: channel }) : null,
  el('span', {
    class: 'badge rounded-pill text-bg-danger sb-unread',
    dataset: { count: String(unread) },
    title: `${unread} unread`,
    text: String(unread),
    hidden: unread === 0,
  }),
  Number.isFinite(conv.since)
    ? el('small', { class: 'sb-conv-since', title: new Date(conv.since).toLocaleString(), text: `waiting since ${new Date(conv.since).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` })
    : el('small', { class: 'sb-conv-id', text: conv.id }),
  typeof conv.first === 'string' ? el('small', { class: 'sb-conv-first d-block text-truncate', text: conv.first }) : null);
}

// Calls onSelect(conversation id) when a conversation button inside `box` is clicked.
export function onConversationClick(box, onSelect) {
  box.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-conv]');
    if (button && box.contains(button)) onSelect(button.dataset.conv);
  });
}

// Unread message counts per conversation.
export class UnreadCounts {
  #key;
  #counts = new Map();

  constructor(storageKey) {
    this.#key = storageKey;
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) ?? '{}');
      for (const [id, n] of Object.entries(saved ?? {})) if (Number.isSafeInteger(n) && n > 0) this.#counts.set(id, n);
    } catch {
      // unreadable: start from zero
    }
  }

  of(id) {
    return this.#counts.get(id) ?? 0;
  }

  total() {
    let sum = 0;
    for (const n of this.#counts.values()) sum += n;
    return sum;
  }

  bump(id) {
    this.#counts.set(id, this.of(id) + 1);
    this.#save();
  }

  clear(id) {
    if (this.#counts.delete(id)) this.#save();
  }

  forget() {
    this.#counts.clear();
    sessionStorage.removeItem(this.#key);
  }

  #save() {
    try {
      sessionStorage.setItem(this.#key, JSON.stringify(Object.fromEntries(this.#counts)));
    } catch {
      // storage full or disabled: counts last until the page closes
    }
  }
}
