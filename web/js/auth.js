// Token handling for the pages: the session's JWT in sessionStorage, reading its claims, and
// minting tokens with the dev-mode endpoint POST /api/dev/token (docs/PROTOCOL.md).

import { t } from './i18n.js';

const TOKEN_KEY = 'sb.token';

// Ids (merchants, users, orders) are 1–128 bytes of [A-Za-z0-9_.:@-].
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

// A failed request the page can show as is: `message` is written for people.
export class RequestError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

// `key` lets each page keep its own token, so a merchant dashboard and an agent console open in
// the same tab's history do not take each other's token (the dashboard uses the default key).
export function loadToken(key = TOKEN_KEY) {
  return sessionStorage.getItem(key);
}

export function saveToken(token, key = TOKEN_KEY) {
  sessionStorage.setItem(key, token);
}

export function clearToken(key = TOKEN_KEY) {
  sessionStorage.removeItem(key);
}

function base64UrlDecode(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

// The claims of a JWT ({sub, role, mid, exp}), or null when it is not one. The signature is
// the server's business: this only reads what the token says, to label the page.
export function readClaims(token) {
  const parts = typeof token === 'string' ? token.trim().split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === 'object' && typeof claims.sub === 'string' ? claims : null;
  } catch {
    return null;
  }
}

// True when the claims carry an `exp` (seconds) that has passed.
export function isExpired(claims, nowMs = Date.now()) {
  return Number.isFinite(claims?.exp) && claims.exp * 1000 <= nowMs;
}

// The {"error","message"} body of a failed response, if it has one.
export async function errorText(response) {
  try {
    const body = await response.json();
    if (body && typeof body.message === 'string' && body.message) return body.message;
    if (body && typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: the status line will do
  }
  return `HTTP ${response.status}`;
}

// Mints a token in dev mode. Throws RequestError with a message for people on any failure.
export async function mintDevToken(sub, role, mid) {
  let response;
  try {
    response = await fetch('/api/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub, role, mid }),
    });
  } catch {
    throw new RequestError(t('Cannot reach the server to get a token. Check that it is running.'));
  }
  if (response.status === 404)
    throw new RequestError(
      t('This server does not mint tokens (it is not in dev mode). Paste a token issued for you instead.'),
      404);
  if (!response.ok)
    throw new RequestError(t('Could not get a token: {why}', { why: await errorText(response) }), response.status);
  const body = await response.json().catch(() => null);
  if (!body || typeof body.token !== 'string' || !body.token)
    throw new RequestError(t('The server answered without a token.'), response.status);
  return body.token;
}
