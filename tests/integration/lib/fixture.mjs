// One chat daemon per test file, the preamble the chat tests share: started before the file's
// tests with the routing they assume (weighted least load, 30 s offline grace), named tokens
// minted, and every WebSocket client in `clients` closed and the daemon stopped after them.
import { after, before } from 'node:test';
import * as chat from './chat.mjs';

const MINT = { customer: chat.customerToken, agent: chat.agentToken, merchant: chat.merchantToken };

// tokens: {name: [role, sub, mid]} ({name: ['admin']} for an admin of every merchant).
// setup(fx): more to do once the tokens are there (Node 20 runs a file's top-level before hooks
// concurrently, so a hook of the file could not wait for this one). Returns {url, tok, clients}.
export function chatFixture(tokens = {}, setup = async () => {}) {
  const fx = { url: null, tok: {}, clients: [], daemon: null };
  before(async () => {
    fx.daemon = await chat.startChat({ routing: { strategy: 'weighted_least_load', offline_grace: '30s' } });
    fx.url = fx.daemon.url;
    for (const [name, [role, sub, mid]] of Object.entries(tokens))
      fx.tok[name] = role === 'admin' ? await chat.adminToken(fx.url) : await MINT[role](fx.url, sub, mid);
    await setup(fx);
  });
  after(async () => {
    for (const c of fx.clients) c.terminate();
    await fx.daemon?.close();
  });
  return fx;
}
