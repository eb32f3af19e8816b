// The dashboard's order table: one row per order entry, newest (highest seq) on top. Rows show
// what a merchant reads (time, order id, customer, amount, items); the rest of the order opens
// in a detail row. Rows come from the server's history (GET /api/streams/{stream}/entries) and
// live pushes; "unread" is decided by the server's acked cursor, never by the browser. Every
// value is inserted as text.

import { t } from './i18n.js';
import { el } from './dom.js';
import {
  formatCompact, formatTime, isoTime, orderAmount, orderCustomer, orderId, orderItems, summarizeOrder,
} from './format.js';
import { OrderStatuses, renderStatus } from './order-status.js';

const HIGHLIGHT_MS = 4000;
const SHOWN = new Set(['merchant', 'order_id', 'customer_name', 'customer', 'total', 'amount', 'currency', 'items']);

export class OrdersTable {
  #tbody;
  #empty;
  #maxRows;
  #entries = new Map(); // id → push frame
  #statuses = new OrderStatuses();
  #filter = '';

  // tbody: the <tbody> to fill; empty: an element shown while there are no rows; onStep(order
  // id, status): the merchant asks to move an order to its next status.
  constructor(tbody, empty, { maxRows = 2000, onStep = () => {} } = {}) {
    this.#tbody = tbody;
    this.#empty = empty;
    this.#maxRows = maxRows;
    this.#tbody.replaceChildren();
    this.#empty.hidden = false;
    this.#tbody.onclick = (event) => {
      const row = event.target.closest('tr.order-row');
      const step = event.target.closest('button.sb-status-next');
      if (row && step) {
        step.disabled = true;
        onStep(row.dataset.order, step.dataset.next);
      } else if (row) {
        this.#toggleDetail(row);
      }
    };
  }

  // An order_status entry (history, push or a step's answer): updates that order's rows.
  applyStatus(entry) {
    if (!this.#statuses.apply(entry)) return;
    for (const row of this.#tbody.querySelectorAll('tr.order-row'))
      if (row.dataset.order === entry.data.order_id) renderStatus(row.querySelector('.order-status'), this.#statuses.of(entry.data.order_id));
  }

  // Enables an order's step button again (the step failed).
  stepFailed(orderId) {
    for (const row of this.#tbody.querySelectorAll('tr.order-row'))
      if (row.dataset.order === orderId) renderStatus(row.querySelector('.order-status'), this.#statuses.of(orderId));
  }

  // Adds a live order push; false when a row for its id is already there.
  add(push, { unread = false } = {}) {
    if (this.#entries.has(push.id)) return false;
    const row = this.#insert(push);
    row.classList.add('is-new');
    setTimeout(() => row.classList.remove('is-new'), HIGHLIGHT_MS);
    if (unread) row.classList.add('is-unread');
    return true;
  }

  // Adds history entries ({seq,id,ts,kind,data}); those above `acked` (the server's cursor of
  // this user; 0 = never acked, so nothing is new) are marked unread. Returns how many were new.
  addHistory(entries, acked) {
    let unread = 0;
    for (const e of entries) {
      if (e?.kind === 'order_status') this.applyStatus(e);
      if (e?.kind !== 'order' || typeof e.id !== 'string' || this.#entries.has(e.id)) continue;
      const row = this.#insert(e);
      if (acked > 0 && e.seq > acked) {
        row.classList.add('is-unread');
        unread += 1;
      }
    }
    return unread;
  }

  // The lowest seq shown (for paging back), or 0.
  oldestSeq() {
    let min = 0;
    for (const e of this.#entries.values()) if (!min || e.seq < min) min = e.seq;
    return min;
  }

  // Shows only rows whose order id contains `text` (case-insensitive); '' shows all.
  filter(text) {
    this.#filter = text.trim().toLowerCase();
    for (const row of this.#tbody.querySelectorAll('tr.order-row')) this.#applyFilter(row);
  }

  markAllRead() {
    for (const row of this.#tbody.querySelectorAll('tr.is-unread')) row.classList.remove('is-unread');
  }

  clear() {
    this.#entries.clear();
    this.#tbody.replaceChildren();
    this.#empty.hidden = false;
  }

  #applyFilter(row) {
    const hidden = Boolean(this.#filter) && !row.dataset.order.toLowerCase().includes(this.#filter);
    row.hidden = hidden;
    const detail = row.nextElementSibling;
    if (detail?.classList.contains('order-detail')) detail.hidden = hidden;
  }

  #insert(push) {
    const row = renderRow(push);
    renderStatus(row.querySelector('.order-status'), this.#statuses.of(row.dataset.order));
    // Place by seq, newest on top: history pages and redeliveries arrive out of order.
    let before = this.#tbody.firstElementChild;
    while (before && (before.classList.contains('order-detail') || Number(before.dataset.seq) > push.seq))
      before = before.nextElementSibling;
    this.#tbody.insertBefore(row, before);
    this.#entries.set(push.id, push);
    this.#applyFilter(row);
    while (this.#entries.size > this.#maxRows) {
      let last = this.#tbody.lastElementChild;
      if (last.classList.contains('order-detail')) last = last.previousElementSibling;
      this.#entries.delete(last.dataset.id);
      last.nextElementSibling?.remove();
      last.remove();
    }
    this.#empty.hidden = true;
    return row;
  }

  #toggleDetail(row) {
    const next = row.nextElementSibling;
    if (next?.classList.contains('order-detail')) {
      next.remove();
      row.setAttribute('aria-expanded', 'false');
      return;
    }
    const data = this.#entries.get(row.dataset.id)?.data;
    row.after(renderDetail(data));
    row.setAttribute('aria-expanded', 'true');
  }
}

function renderRow(push) {
  const data = push.data && typeof push.data === 'object' ? push.data : {};
  const items = orderItems(data);
  return el('tr', {
    class: 'order-row',
    dataset: { id: push.id, seq: String(push.seq), order: orderId(data) },
    'aria-expanded': 'false',
    title: t('Show details'),
  },
  el('td', { class: 'order-time' },
    el('time', { datetime: isoTime(push.ts), title: formatTime(push.ts), text: formatCompact(push.ts) })),
  el('td', { class: 'order-id', text: orderId(data) }),
  el('td', { class: 'order-customer', text: orderCustomer(data) }),
  el('td', { class: 'order-amount', text: orderAmount(data) }),
  el('td', { class: 'order-items' },
    items.length ? el('ul', { class: 'list-unstyled mb-0' }, ...items.map((line) => el('li', { text: line }))) : null),
  el('td', { class: 'order-status' }));
}

// Every other field of the order, as key: value lines.
function renderDetail(data) {
  const rest = data && typeof data === 'object' && !Array.isArray(data)
    ? Object.fromEntries(Object.entries(data).filter(([k]) => !SHOWN.has(k))) : { data };
  const { fields } = summarizeOrder(rest, 50);
  const list = el('dl', { class: 'row mb-0 small' });
  for (const [key, text] of fields)
    list.append(el('dt', { class: 'col-4 text-muted', text: key }), el('dd', { class: 'col-8 mb-1', text }));
  if (!fields.length) list.append(el('dd', { class: 'col-12 text-muted mb-0', text: '—' }));
  return el('tr', { class: 'order-detail' }, el('td', { colspan: '6' }, list));
}
