// The landing page: the Bootstrap fallback check, the language, and on a dev node the demo
// merchant and agent to try it with (GET /api/dev/demo; absent outside dev mode).
import { $, el, markMissingBootstrap } from './dom.js';
import { localize, t } from './i18n.js';

async function showDemo() {
  let demo;
  try {
    const response = await fetch('/api/dev/demo', { cache: 'no-store' });
    if (!response.ok) return;
    demo = await response.json();
  } catch {
    return;
  }
  if (![demo?.merchant, demo?.agent, demo?.user].every((v) => typeof v === 'string' && v)) return;
  const code = (text) => el('code', { text });
  const link = (href, text) => el('a', { href, text });
  const q = (params) => new URLSearchParams(params).toString();
  $('#demo-text').replaceChildren(
    t('Use the demo merchant'), ' ', code(demo.merchant), ': ',
    link(`/console.html?${q({ merchant: demo.merchant, agent: demo.agent })}`, t('agent console')),
    ' ', t('as agent'), ' ', code(demo.agent), ' · ',
    link(`/chat.html?${q({ merchant: demo.merchant })}`, t('customer chat')), ' ', t('with any name'), ' · ',
    link(`/dashboard.html?${q({ merchant: demo.merchant, user: demo.user })}`, t('dashboard')),
    ' ', t('as user'), ' ', code(demo.user), '.');
  $('#demo').dataset.merchant = demo.merchant;
  $('#demo').hidden = false;
}

markMissingBootstrap();
localize();
showDemo();
