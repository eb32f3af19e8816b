// The embeddable chat launcher. A merchant's site adds one tag:
//   <script src="https://switchboard.example/js/embed.js" data-merchant="m1" async></script>
// (optionally data-customer="<the site's own customer id>"). It adds a bubble at the bottom right
// that opens the chat widget (chat.html of the same server) in a frame: a panel on desktops,
// full-screen on small screens. A classic script (no module), no dependencies; nothing from the
// page is inserted as HTML.
(() => {
  const script = document.currentScript;
  if (!script || document.getElementById('sb-launcher')) return;
  const merchant = script.dataset.merchant || '';
  const base = new URL(script.src, location.href).origin;
  const query = new URLSearchParams({ merchant, embed: '1' });
  if (script.dataset.customer) query.set('customer', script.dataset.customer);
  const chinese = (navigator.language || '').toLowerCase().startsWith('zh');

  const style = document.createElement('style');
  style.textContent = `
#sb-launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;
  background:#0d6efd;color:#fff;font-size:26px;line-height:56px;cursor:pointer;z-index:2147483000;
  box-shadow:0 4px 12px rgba(0,0,0,.25)}
#sb-frame{position:fixed;right:20px;bottom:88px;width:380px;height:min(600px,calc(100vh - 110px));
  border:0;border-radius:12px;box-shadow:0 8px 24px rgba(0,0,0,.25);z-index:2147483000;background:#fff}
@media (max-width:576px){#sb-frame{inset:0;width:100%;height:100%;border-radius:0}
  #sb-launcher.sb-open{top:8px;bottom:auto;right:8px;width:40px;height:40px;line-height:40px;font-size:20px}}`;
  document.head.append(style);

  const button = document.createElement('button');
  button.id = 'sb-launcher';
  button.type = 'button';
  button.textContent = '💬';
  button.setAttribute('aria-label', chinese ? '在线客服' : 'Chat with us');
  button.setAttribute('aria-expanded', 'false');
  let frame = null;
  button.addEventListener('click', () => {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.id = 'sb-frame';
      frame.title = chinese ? '在线客服' : 'Customer service chat';
      frame.src = `${base}/chat.html?${query}`;
      document.body.append(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    const open = !frame.hidden;
    button.setAttribute('aria-expanded', String(open));
    button.classList.toggle('sb-open', open);
    button.textContent = open ? '✕' : '💬';
  });
  document.body.append(button);
})();
