// Pure formatting for the pages: entry times in the browser's time zone, order summaries.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

// The browser's IANA time zone, e.g. "Europe/Berlin", for column headers.
export const timeZone = timeFormat.resolvedOptions().timeZone;

// An entry `ts` (ms since the epoch, UTC) as local date and time; '—' when absent.
export function formatTime(ms) {
  return Number.isFinite(ms) ? timeFormat.format(new Date(ms)) : '—';
}

// The same instant for a <time datetime> attribute, or null.
export function isoTime(ms) {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

// Cuts a string to at most `max` characters (code points, so no half surrogate pairs).
export function truncate(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

// One field value as display text: strings as written, everything else as JSON.
export function valueText(value, max = 80) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return truncate(text ?? String(value), max);
}

const dayFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit' });

// A compact time: today "14:03", older days the date; '' when absent. The full time goes in a
// title (formatTime).
export function formatCompact(ms, now = Date.now()) {
  if (!Number.isFinite(ms)) return '';
  const same = new Date(ms).toDateString() === new Date(now).toDateString();
  return same ? clockFormat.format(new Date(ms)) : dayFormat.format(new Date(ms));
}

// The local calendar day of `ms` as YYYY-MM-DD (for data attributes and comparisons).
export function localDay(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// A day separator's text in `locale`: "Today", "Yesterday" (今天, 昨天), else the date with its
// weekday ("Wed, December 2, 2026").
export function dayLabel(ms, locale, now = Date.now()) {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000);
  if (days === 0 || days === 1) {
    const text = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(-days, 'day');
    return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
  }
  return new Intl.DateTimeFormat(locale, { weekday: 'short', year: 'numeric', month: 'long', day: 'numeric' })
    .format(new Date(ms));
}

function startOfDay(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

// An amount with its currency ("CNY" unless the order names one), e.g. "CN¥8.00"; '' when the
// order has no numeric total/amount.
export function orderAmount(data) {
  const value = data?.total ?? data?.amount;
  const n = typeof value === 'string' ? Number(value) : value;
  if (!Number.isFinite(n)) return '';
  const currency = typeof data.currency === 'string' && /^[A-Za-z]{3}$/.test(data.currency)
    ? data.currency.toUpperCase() : 'CNY';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(n);
  } catch {
    return `${n} ${currency}`;
  }
}

// The customer of an order as text: customer_name, customer (string or {name}), or ''.
export function orderCustomer(data) {
  const c = data?.customer_name ?? data?.customer;
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object' && typeof c.name === 'string') return c.name;
  return '';
}

// The order's items as lines ("2 × TEA"), at most `max`; [] when it has none.
export function orderItems(data, max = 20) {
  if (!Array.isArray(data?.items)) return [];
  return data.items.slice(0, max).map((item) => {
    if (item === null || typeof item !== 'object') return valueText(item);
    const name = item.name ?? item.title ?? item.sku ?? '';
    const qty = item.qty ?? item.quantity;
    return `${qty !== undefined ? `${valueText(qty)} × ` : ''}${valueText(name)}`;
  });
}

// The order fields worth a glance: every field but `merchant` and `order_id` (shown in their own
// column) as [key, text] pairs, at most `maxFields`, and how many were left out.
export function summarizeOrder(data, maxFields = 6) {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return { fields: [['data', valueText(data)]], more: 0 };
  const keys = Object.keys(data).filter((k) => k !== 'merchant' && k !== 'order_id');
  const fields = keys.slice(0, maxFields).map((k) => [k, valueText(data[k])]);
  return { fields, more: keys.length - fields.length };
}

// The order id of an order's data, as text ('' when missing).
export function orderId(data) {
  const id = data && typeof data === 'object' ? data.order_id : undefined;
  return id === undefined || id === null ? '' : String(id);
}
