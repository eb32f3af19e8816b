// The dashboard's live order table: one row per order entry, newest (highest seq) on top, new
// rows highlighted for a moment, unread rows marked until the user looks. Rows are kept in
// sessionStorage so a reload shows what was already received. Every value is inserted as text.

import { el } from './dom.js';
import { formatTime, isoTime, orderId, summarizeOrder, valueText } from './format.js';

const HIGHLIGHT_MS = 4000;
const SAVE_DELAY_MS = 300;

export class OrdersTable {
  #tbody;
  #empty;
  #storageKey;
  #maxRows;
  #entries = new Map(); // id → push frame, in no particular order
  #saveTimer = null;
  #onPageHide = () => this.#save();

  // tbody: the <tbody> to fill; empty: an element shown while there are no rows.
  constructor(tbody, empty, { storageKey, maxRows = 500 }) {
    this.#tbody = tbody;
    this.#empty = empty;
    this.#storageKey = storageKey;
    this.#maxRows = maxRows;
    this.#tbody.replaceChildren();
    this.#restore();
    addEventListener('pagehide', this.#onPageHide);
  }

  // Adds an order push; false when a row for its id is already there.
  add(push, { unread = false } = {}) {
    if (this.#entries.has(push.id)) return false;
    const row = this.#insert(push);
    row.classList.add('is-new');
    setTimeout(() => row.classList.remove('is-new'), HIGHLIGHT_MS);
    if (unread) row.classList.add('is-unread');
    this.#scheduleSave();
    return true;
  }

  markAllRead() {
    for (const row of this.#tbody.querySelectorAll('tr.is-unread')) row.classList.remove('is-unread');
  }

  // Saves what is pending and lets go of the page (the tbody may then serve another table).
  close() {
    removeEventListener('pagehide', this.#onPageHide);
    if (this.#saveTimer) this.#save();
  }

  // Empties the table and forgets the saved rows (e.g. on logout).
  clear() {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    this.#entries.clear();
    this.#tbody.replaceChildren();
    sessionStorage.removeItem(this.#storageKey);
    this.#empty.hidden = false;
  }

  #insert(push) {
    const row = renderRow(push);
    // Pushes arrive in seq order, except redeliveries: place by seq to keep newest on top.
    let before = this.#tbody.firstElementChild;
    while (before && Number(before.dataset.seq) > push.seq) before = before.nextElementSibling;
    this.#tbody.insertBefore(row, before);
    this.#entries.set(push.id, push);
    while (this.#entries.size > this.#maxRows) {
      const last = this.#tbody.lastElementChild;
      this.#entries.delete(last.dataset.id);
      last.remove();
    }
    this.#empty.hidden = true;
    return row;
  }

  #scheduleSave() {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => this.#save(), SAVE_DELAY_MS);
  }

  #save() {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    const rows = [...this.#entries.values()].sort((a, b) => b.seq - a.seq).slice(0, 200);
    try {
      sessionStorage.setItem(this.#storageKey, JSON.stringify(rows));
    } catch {
      // storage full or disabled: a reload starts with an empty table
    }
  }

  #restore() {
    let rows = [];
    try {
      rows = JSON.parse(sessionStorage.getItem(this.#storageKey) ?? '[]');
    } catch {
      // unreadable: start empty
    }
    if (!Array.isArray(rows)) rows = [];
    for (const push of rows.reverse())
      if (push && typeof push.id === 'string' && Number.isSafeInteger(push.seq)) this.#insert(push);
    this.#empty.hidden = this.#entries.size > 0;
  }
}

function renderRow(push) {
  const id = orderId(push.data);
  const { fields, more } = summarizeOrder(push.data);
  const summary = el('td', { class: 'order-summary', title: valueText(push.data, 2000) });
  for (const [key, text] of fields)
    summary.append(
      el('span', { class: 'field', dataset: { field: key } },
        el('span', { class: 'field-key', text: key }), ' ', el('span', { class: 'field-value', text })),
      ' ');
  if (more > 0) summary.append(el('span', { class: 'field-more', text: `+${more} more` }));
  return el('tr', { class: 'order-row', dataset: { id: push.id, seq: String(push.seq) } },
    el('td', { class: 'order-time' },
      el('time', { datetime: isoTime(push.ts), text: formatTime(push.ts) })),
    el('td', { class: 'order-id', text: id }),
    summary);
}
