// The agent console's conversation lists (console.html): conversations assigned to the agent and
// those waiting in the queue, each a button with the customer's display name, the last message
// (or the first, while queued) with its time and an unread count, the selected one marked with
// aria-current. Unread counts survive a reload (sessionStorage).

import { el } from './dom.js';
import { formatCompact, formatTime, isoTime } from './format.js';
import { t } from './i18n.js';

// Renders `convs` ([{id, status, customer, name?, last?: {ts, text, own}, since?, first?}]) as
// buttons into `box`; `empty` is shown when there are none.
export function renderConversations(box, empty, convs, { selected, unreadOf }) {
  box.replaceChildren(...convs.map((conv) => conversationButton(conv, conv.id === selected, unreadOf(conv.id))));
  empty.hidden = convs.length > 0;
}

// When a conversation last saw activity (ms UTC): its last message, else since it waits, else 0.
export const lastActivity = (conv) => conv.last?.ts ?? conv.since ?? 0;

// `convs` newest activity first (a stable sort: equal ones keep their order).
export function byLastActivity(convs) {
  return [...convs].sort((a, b) => lastActivity(b) - lastActivity(a));
}

// The channel a customer writes from, by the principal's prefix (docs/PROTOCOL.md, Channels):
// "WeChat" for wx:<openid>, "App" for app:<user>, "" for the web widget.
export function channelLabel(customer) {
  if (typeof customer !== 'string') return '';
  if (customer.startsWith('wx:')) return 'WeChat';
  if (customer.startsWith('app:')) return 'App';
  return '';
}

// Who the customer is, for people: the display name it gave, else its principal id.
export function customerLabel(conv) {
  if (typeof conv.name === 'string' && conv.name) return conv.name;
  return typeof conv.customer === 'string' && conv.customer ? conv.customer : conv.id;
}

function conversationButton(conv, selected, unread) {
  const channel = channelLabel(conv.customer);
  const when = lastActivity(conv) || null;
  const preview = conv.last
    ? `${conv.last.own ? `${t('You:')} ` : ''}${conv.last.text}`
    : typeof conv.first === 'string' ? conv.first : '';
  return el('button', {
    type: 'button',
    class: `list-group-item list-group-item-action sb-conv${selected ? ' active' : ''}`,
    dataset: { conv: conv.id, status: String(conv.status ?? ''), activity: String(when ?? 0) },
    'aria-current': selected ? 'true' : null,
    title: typeof conv.customer === 'string' ? conv.customer : null,
  },
  el('span', { class: 'sb-conv-name', text: customerLabel(conv) }),
  channel ? el('span', { class: 'badge text-bg-secondary sb-channel', text: channel }) : null,
  when
    ? el('time', { class: 'sb-conv-time', datetime: isoTime(when), title: formatTime(when), text: formatCompact(when) })
    : null,
  el('span', {
    class: 'badge rounded-pill text-bg-danger sb-unread',
    dataset: { count: String(unread) },
    title: t('{n} unread', { n: unread }),
    text: String(unread),
    hidden: unread === 0,
  }),
  preview ? el('small', { class: 'sb-conv-preview text-truncate', text: preview }) : null,
  Number.isFinite(conv.since) && !conv.last
    ? el('small', { class: 'sb-conv-since', text: t('waiting since {time}', { time: formatCompact(conv.since) }) })
    : null);
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
