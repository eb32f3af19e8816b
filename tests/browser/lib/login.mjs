// Logging in through a page's dev-mode form, shared by the browser tests: the dashboard (#user),
// the chat widget (#customer: a display name) and the agent console (#agent) all take a
// merchant id and a user field, then mint a token on submit. `target` is a Page or a
// FrameLocator (the widget inside the embed frame).

const USER_FIELD = { merchant: '#user', customer: '#customer', agent: '#agent' };

// Fills the form of `role`'s page as `user` of `merchant` and submits it; resolves once the
// page is live (its connection indicator says so, attached even when hidden in an embed).
export async function loginAs(target, role, { merchant, user, live = true }) {
  const field = USER_FIELD[role];
  if (!field) throw new Error(`no login form for role ${role}`);
  if (merchant !== undefined) await target.locator('#merchant').fill(merchant);
  await target.locator(field).fill(user);
  await target.locator('#login-submit').click();
  if (live) await target.locator('#conn[data-state="live"]').waitFor({ state: 'attached' });
}
