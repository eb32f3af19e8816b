// The dashboard's "Post a test order" helper, for demos and the browser test. Development
// servers only: it mints a service token with POST /api/dev/token and posts to /api/orders.

import { t } from './i18n.js';
import { $ } from './dom.js';
import { RequestError, ID_PATTERN, errorText, mintDevToken } from './auth.js';

const serviceTokens = new Map(); // merchant → service JWT

function freshOrderId() {
  return `T-${Date.now().toString(36).toUpperCase()}`;
}

function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function serviceToken(merchant, fresh) {
  if (fresh || !serviceTokens.has(merchant))
    serviceTokens.set(merchant, await mintDevToken('dashboard-test-orders', 'service', merchant));
  return serviceTokens.get(merchant);
}

// Posts one order; resolves to the server's 202 body, throws RequestError with a message for people.
export async function postTestOrder(order, idemKey = idempotencyKey()) {
  for (const fresh of [false, true]) {
    const token = await serviceToken(order.merchant, fresh);
    let response;
    try {
      response = await fetch('/api/orders', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${token}`,
          'Idempotency-Key': idemKey,
        },
        body: JSON.stringify(order),
      });
    } catch {
      throw new RequestError(t('Cannot reach the server to post the order.'));
    }
    if (response.status === 401 && !fresh) continue; // the cached token expired: mint again
    if (!response.ok)
      throw new RequestError(t('The order was refused: {why}', { why: await errorText(response) }), response.status);
    return response.json();
  }
  throw new RequestError(t('The order was refused: {why}', { why: 'unauthorized' }), 401);
}

// Wires the form in #dev-tools; merchant() names the logged-in merchant (or null).
export function setupTestOrders(merchant) {
  const form = $('#test-order-form');
  const idInput = $('#test-order-id');
  const result = $('#test-order-result');
  const submit = $('#test-order-submit');
  const say = (text) => (result.textContent = text);
  idInput.value = freshOrderId();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const mid = merchant();
    const orderId = idInput.value.trim();
    if (!mid) return say(t('Log in first.'));
    if (!ID_PATTERN.test(orderId))
      return say(t('An order id is 1–128 characters of A–Z a–z 0–9 _ . : @ -'));
    const order = { merchant: mid, order_id: orderId };
    const total = Number.parseFloat($('#test-total').value);
    if (Number.isFinite(total)) order.total = total;
    const note = $('#test-note').value;
    if (note) order.note = note;

    submit.disabled = true;
    say(t('Posting…'));
    try {
      const accepted = await postTestOrder(order);
      say(t('Posted {order}: {stream} seq {seq}.', { order: orderId, stream: accepted.stream, seq: accepted.seq }));
      idInput.value = freshOrderId();
    } catch (err) {
      say(err instanceof RequestError ? err.message : t('Failed: {why}', { why: err }));
    } finally {
      submit.disabled = false;
    }
  });
}
