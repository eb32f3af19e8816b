// The pages' languages: Simplified Chinese and English, no build step. The language comes from
// the user's choice (localStorage) or the browser's languages (zh* → zh-CN, else en). Texts are
// keyed by their English wording: t() translates one (with {placeholders}); the static texts of
// a page (text nodes, placeholder/title/aria-label) are translated where they match a key, also
// when a script sets them later. Subtrees marked data-no-i18n (messages, orders, names) are never
// touched, so what people write is shown as written.

import en from './i18n/en.js';
import zh from './i18n/zh-CN.js';

const LANG_KEY = 'sb.lang';
const TABLES = { en, 'zh-CN': zh };

function chooseLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && TABLES[saved]) return saved;
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language ?? 'en'];
  for (const l of langs) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

export const lang = chooseLanguage();
const table = TABLES[lang];

export function t(key, vars = {}) {
  const text = table[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

const ATTRS = ['placeholder', 'title', 'aria-label'];

function translateNode(node) {
  if (node.nodeType === Node.TEXT_NODE) {
    const key = node.nodeValue.trim();
    if (key && table[key] && node.parentElement && !node.parentElement.closest('[data-no-i18n]'))
      node.nodeValue = node.nodeValue.replace(key, table[key]);
    return;
  }
  if (node.nodeType !== Node.ELEMENT_NODE || node.closest('[data-no-i18n]')) return;
  for (const attr of ATTRS) {
    const value = node.getAttribute(attr);
    if (value && table[value]) node.setAttribute(attr, table[value]);
  }
  for (const child of node.childNodes) translateNode(child);
}

// Translates the page now and whatever scripts add or change later; adds the language switch.
export function localize() {
  document.documentElement.lang = lang;
  if (lang !== 'en') {
    translateNode(document.body);
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'characterData') translateNode(r.target);
        else if (r.type === 'attributes') translateNode(r.target);
        else for (const n of r.addedNodes) translateNode(n);
      }
    }).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS,
    });
  }
  addSwitch();
}

function addSwitch() {
  const bar = document.querySelector('.sb-bar .container');
  if (!bar || document.getElementById('sb-lang')) return;
  const select = document.createElement('select');
  select.id = 'sb-lang';
  select.className = 'form-select form-select-sm w-auto ms-2';
  select.setAttribute('aria-label', lang === 'en' ? 'Language' : table.Language);
  for (const [value, label] of [['zh-CN', '中文'], ['en', 'English']]) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    option.selected = value === lang;
    select.append(option);
  }
  select.addEventListener('change', () => {
    localStorage.setItem(LANG_KEY, select.value);
    location.reload();
  });
  bar.append(select);
}
