// The dev-mode login form the pages share (dashboard, chat widget, agent console): a merchant id
// (#merchant) and a user field, a #login-submit button and a #login-message box in #login. On
// submit it mints a token for the page's role with POST /api/dev/token (auth.js), saves it under
// the page's key and hands it to the page. Every text enters the document as text.

import { $, el } from './dom.js';
import { t } from './i18n.js';
import {
  ID_PATTERN, RequestError, clearToken, isExpired, loadToken, mintDevToken, readClaims, saveToken,
} from './auth.js';

export const EXPIRED_MESSAGE = 'Your session expired — log in again.';
const ID_RULE = '1–128 characters of A–Z a–z 0–9 _ . : @ -';

// Marks `input` invalid with `message` under it (Bootstrap's .invalid-feedback, tied to the
// input by aria-describedby), or clears that when `message` is ''.
export function fieldError(input, message) {
  const id = `${input.id}-error`;
  let box = document.getElementById(id);
  if (!box) {
    box = el('div', { id, class: 'invalid-feedback sb-field-error', 'aria-live': 'polite' });
    input.after(box);
  }
  box.textContent = message;
  box.hidden = !message;
  input.classList.toggle('is-invalid', Boolean(message));
  if (message) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
  } else {
    input.removeAttribute('aria-invalid');
  }
}

// options:
//   role       the role of the token to mint ('merchant', 'customer', 'agent')
//   userField  selector of the user name input ('#user', '#customer', '#agent')
//   hide       selectors hidden while the form shows (the app first: '#dashboard', …)
//   failure    the prefix of an unexpected error's message ('Log in failed')
//   tokenKey   the sessionStorage key to save the token under (undefined: auth.js's default)
//   open       (token, claims) => the app opened (may return a promise; a throw is shown)
//   onShow     optional: more to reset when the form shows
//   anyRole    optional: restore() takes a saved token of any role (the dashboard's)
//   identity   optional: (merchant, user text) => the token's subject, when the user field is a
//              display name rather than the identity (the chat widget's); nameValid checks it
// Returns {show, submit, logOut, expired, restore}:
//   show(message = '', claims = null)  shows the form with a message, fields prefilled from claims
//   submit(event)                      the form's submit listener
//   logOut()                           drops the saved token and shows the form
//   expired(claims)                    the same for a session that expired: says so, prefilled
//   restore()                          the saved {token, claims} when still good for this page;
//                                      else null, having dropped the token and shown the form
export function devLogin({
  role, userField, hide, failure, tokenKey, open, onShow, anyRole, identity, nameValid,
}) {
  // Each field says what is wrong with it (empty, or not the right shape), next to it.
  function check(input, ok, rule) {
    const value = input.value.trim();
    fieldError(input, ok(value) ? '' : value ? t(rule) : t('Required'));
    return ok(value);
  }
  for (const selector of ['#merchant', userField])
    $(selector).addEventListener('input', (event) => fieldError(event.target, ''));
  // Links may prefill the form (the index page's demo: ?merchant=demo&agent=a1).
  const params = new URLSearchParams(location.search);
  for (const [selector, key] of [['#merchant', 'merchant'], [userField, identity ? '' : userField.slice(1)]]) {
    const value = key ? params.get(key) : null;
    if (value && ID_PATTERN.test(value) && !$(selector).value) $(selector).value = value;
  }

  function show(message = '', claims = null) {
    for (const selector of hide) $(selector).hidden = true;
    onShow?.();
    $('#login').hidden = false;
    const box = $('#login-message');
    box.textContent = message;
    box.hidden = !message;
    if (claims?.mid) $('#merchant').value = claims.mid;
    if (claims?.sub && !identity) $(userField).value = claims.sub;
    ($('#merchant').value ? $(userField) : $('#merchant')).focus();
  }

  async function submit(event) {
    event.preventDefault();
    const merchant = $('#merchant').value.trim();
    const user = $(userField).value.trim();
    const merchantOk = check($('#merchant'), (v) => ID_PATTERN.test(v), `A merchant id: ${ID_RULE}`);
    const userOk = check($(userField), identity ? nameValid : (v) => ID_PATTERN.test(v),
      identity ? 'A name: 1–64 characters, no control characters' : `A name: ${ID_RULE}`);
    if (!merchantOk || !userOk) {
      show();
      (merchantOk ? $(userField) : $('#merchant')).focus();
      return;
    }
    const button = $('#login-submit');
    button.disabled = true;
    try {
      const token = await mintDevToken(identity ? identity(merchant, user) : user, role, merchant);
      saveToken(token, tokenKey);
      await open(token, readClaims(token));
    } catch (err) {
      show(err instanceof RequestError ? err.message : `${t(failure)}: ${err}`);
    } finally {
      button.disabled = false;
    }
  }

  function logOut() {
    clearToken(tokenKey);
    show();
  }

  function expired(claims) {
    clearToken(tokenKey);
    show(t(EXPIRED_MESSAGE), claims);
  }

  function restore() {
    const token = loadToken(tokenKey);
    const claims = token ? readClaims(token) : null;
    if (claims && !isExpired(claims) && (anyRole || claims.role === role)) return { token, claims };
    if (token) clearToken(tokenKey);
    show(token ? t(EXPIRED_MESSAGE) : '', claims);
    return null;
  }

  return { show, submit, logOut, expired, restore };
}
