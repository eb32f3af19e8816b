// Tiny DOM helpers shared by the pages. Data only ever enters the document as text
// (textContent / text nodes) or through setAttribute: never parsed as HTML.

// Builds an element: el('td', {class: 'x', text: 'y', dataset: {id}}, child, 'text child', …).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child != null) node.append(child); // strings become text nodes
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// Bootstrap comes from the daemon's /vendor/bootstrap5/ route (Debian's libjs-bootstrap5). When
// it did not load, <html> gets class "no-bootstrap" so css/app.css supplies a plain layout.
export function markMissingBootstrap() {
  const probe = getComputedStyle(document.documentElement).getPropertyValue('--bs-body-font-family');
  document.documentElement.classList.toggle('no-bootstrap', probe.trim() === '');
}
