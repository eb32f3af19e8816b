// An order's status on the dashboard (docs/PROTOCOL.md, "Order status"): new → accepted → done.
// The status cell shows the current one and a button for the next step; statuses arrive as
// "order_status" entries of the orders stream (history and live) or as the answer to a step.

import { el } from './dom.js';
import { t } from './i18n.js';

const LABEL = { new: 'New', accepted: 'Accepted', done: 'Done' };
const NEXT = { new: ['accepted', 'Accept'], accepted: ['done', 'Mark done'] };
const BADGE = { new: 'text-bg-primary', accepted: 'text-bg-warning', done: 'text-bg-success' };

// The latest known status per order id, by the seq of the entry that set it.
export class OrderStatuses {
  #byOrder = new Map(); // order id → {status, seq}

  // Records an order_status entry ({seq, data: {order_id, status}}); true when it is news.
  apply(entry) {
    const id = entry?.data?.order_id;
    const status = entry?.data?.status;
    if (typeof id !== 'string' || !LABEL[status] || !Number.isSafeInteger(entry.seq)) return false;
    const known = this.#byOrder.get(id);
    if (known && known.seq >= entry.seq) return false;
    this.#byOrder.set(id, { status, seq: entry.seq });
    return true;
  }

  of(orderId) {
    return this.#byOrder.get(orderId)?.status ?? 'new';
  }
}

// Fills a row's status cell: the badge, and the button for the next step (data-next).
export function renderStatus(cell, status) {
  const next = NEXT[status];
  cell.dataset.status = status;
  cell.replaceChildren(
    el('span', { class: `badge ${BADGE[status] ?? 'text-bg-secondary'} sb-status`, text: t(LABEL[status] ?? status) }),
    next ? el('button', { type: 'button', class: 'btn btn-sm btn-outline-primary ms-2 sb-status-next', dataset: { next: next[0] }, text: t(next[1]) }) : null);
}
