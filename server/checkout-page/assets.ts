import { createHash } from 'node:crypto';

/**
 * The page's only script and stylesheet, served by the router from these strings (no file to
 * find at run time: the server also runs bundled and inside the desktop app's asar). Served under
 * a content-hashed name, so they can be cached for good while the page itself is `no-store`; the
 * CSP allows scripts and styles from 'self' only, so there is nothing inline on the page.
 *
 * The script (ES2017, no dependencies): ticks the countdown against the server's clock (the page
 * says what the server's time was when it rendered, so a wrong phone clock does not expire a good
 * code); polls `GET <status-url>` every 2 s while the code can be paid (every 10 s while the tab is
 * hidden, and for the 5 minutes after expiry in which a late payment may still be applied), and
 * shows the panel for the state it answers — every panel is already on the page, in the payer's
 * language, so the script carries no text of its own.
 */
export const CHECKOUT_SCRIPT = `(function () {
  'use strict';
  var root = document.getElementById('checkout');
  if (!root) return;
  var statusUrl = root.getAttribute('data-status-url');
  var expiresAt = Date.parse(root.getAttribute('data-expires-at') || '');
  var skew = Date.parse(root.getAttribute('data-server-now') || '') - Date.now();
  if (isNaN(skew)) skew = 0;
  var state = root.getAttribute('data-state');
  var countdown = document.getElementById('countdown');
  var timer = null;
  var ticker = null;
  var TERMINAL = { paid: true, void: true, refunded: true };
  var LATE_PAYMENT_MS = 5 * 60 * 1000;

  function now() { return Date.now() + skew; }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function countdownText(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(s) : m + ':' + pad(s);
  }

  function localTime(iso) {
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).format(new Date(iso));
    } catch (e) { return iso; }
  }

  function show(next, paidAt) {
    if (paidAt) {
      var at = document.getElementById('paid-at');
      if (at) { at.setAttribute('datetime', paidAt); at.textContent = localTime(paidAt); }
      var line = document.getElementById('paid-at-line');
      if (line) line.hidden = false;
    }
    if (next === state) return;
    state = next;
    root.setAttribute('data-state', next);
    var panels = document.querySelectorAll('[data-panel]');
    for (var i = 0; i < panels.length; i++) panels[i].hidden = panels[i].getAttribute('data-panel') !== next;
    var title = root.getAttribute('data-title-' + next);
    if (title) document.title = title;
  }

  function tick() {
    if (state !== 'open') { clearInterval(ticker); return; }
    var left = expiresAt - now();
    if (countdown) countdown.textContent = countdownText(left);
    if (left <= 0) { show('expired'); schedule(0); }
  }

  function delay() {
    if (TERMINAL[state]) return -1;
    if (state === 'expired') return now() - expiresAt < LATE_PAYMENT_MS ? 10000 : -1;
    return document.hidden ? 10000 : 2000;
  }

  function schedule(ms) {
    clearTimeout(timer);
    var wait = ms === undefined ? delay() : ms;
    if (wait >= 0) timer = setTimeout(poll, wait);
  }

  function poll() {
    fetch(statusUrl, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && typeof s.status === 'string' && document.querySelector('[data-panel="' + s.status + '"]')) show(s.status, s.paidAt);
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { schedule(); });
  }

  var at = document.getElementById('paid-at');
  if (at && at.getAttribute('datetime')) at.textContent = localTime(at.getAttribute('datetime'));
  document.addEventListener('visibilitychange', function () { if (!document.hidden) schedule(0); });
  if (state === 'open' && countdown && !isNaN(expiresAt)) { tick(); ticker = setInterval(tick, 1000); }
  schedule();
})();
`;

export const CHECKOUT_STYLES = `:root {
  --ink: #1a1d23; --muted: #5f6673; --line: #e4e7ec; --page: #f3f5f8; --card: #ffffff;
  --wechat: #07c160; --alipay: #1677ff; --accent: var(--wechat); --good: #0f9d58; --warn: #b45309;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--page); line-height: 1.45; -webkit-text-size-adjust: 100%;
}
* { box-sizing: border-box; }
html, body { margin: 0; min-height: 100%; }
body { display: flex; justify-content: center; align-items: flex-start; padding: 24px 16px 40px; }
[hidden] { display: none !important; }
.card { width: 100%; max-width: 420px; background: var(--card); border-radius: 16px; box-shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 8px 24px rgba(16, 24, 40, .08); overflow: hidden; }
.card[data-channel="alipay"] { --accent: var(--alipay); }
.sandbox { margin: 0; padding: 8px 16px; background: #fff7e6; color: var(--warn); font-size: 13px; font-weight: 600; text-align: center; border-bottom: 1px solid #fde2b3; }
.head { padding: 24px 24px 16px; text-align: center; border-bottom: 1px solid var(--line); }
.monogram { width: 48px; height: 48px; margin: 0 auto 12px; border-radius: 12px; background: #eef1f6; color: var(--ink); display: flex; align-items: center; justify-content: center; font-size: 22px; font-weight: 700; }
h1 { margin: 0; font-size: 20px; font-weight: 650; overflow-wrap: anywhere; }
.invoice { margin: 4px 0 0; color: var(--muted); font-size: 14px; }
.facts { margin: 0; padding: 16px 24px; display: grid; gap: 10px; border-bottom: 1px solid var(--line); }
.facts div { display: flex; justify-content: space-between; align-items: baseline; gap: 16px; }
.facts dt { color: var(--muted); font-size: 14px; }
.facts dd { margin: 0; text-align: right; font-size: 14px; }
.facts .amount { font-size: 28px; font-weight: 700; letter-spacing: -.01em; font-variant-numeric: tabular-nums; }
.facts .ccy { font-size: 13px; font-weight: 600; color: var(--muted); margin-left: 4px; letter-spacing: 0; }
.panel { padding: 20px 24px 24px; text-align: center; }
.notice { margin: 16px 24px 0; padding: 10px 12px; border-radius: 8px; background: #fff4f2; color: #9f2a12; font-size: 14px; }
.methods { display: grid; grid-template-columns: 1fr 1fr; gap: 0; margin: 0 0 20px; padding: 4px; border-radius: 10px; background: #eef1f6; border: 0; }
.methods legend { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.method { display: flex; align-items: center; justify-content: center; gap: 8px; min-height: 40px; padding: 8px; border-radius: 8px; border: 0; background: transparent; color: var(--muted); font: inherit; font-size: 15px; font-weight: 600; cursor: pointer; }
.method:hover { color: var(--ink); }
.method:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.method[aria-current="true"] { background: var(--card); color: var(--ink); box-shadow: 0 1px 3px rgba(16, 24, 40, .12); cursor: default; }
.mark { display: inline-flex; width: 20px; height: 20px; border-radius: 5px; align-items: center; justify-content: center; color: #fff; font-size: 12px; font-weight: 800; }
.mark.wechat { background: var(--wechat); }
.mark.alipay { background: var(--alipay); }
.qr { margin: 0; }
.qr-frame { display: inline-block; padding: 12px; border-radius: 14px; border: 2px solid var(--accent); background: #fff; }
.qr img { display: block; width: 232px; height: 232px; image-rendering: pixelated; }
.qr figcaption { margin-top: 12px; font-size: 15px; font-weight: 600; }
.panel .countdown { margin: 12px 0 0; color: var(--muted); font-size: 14px; }
.countdown span { color: var(--ink); font-weight: 700; font-variant-numeric: tabular-nums; }
.panel .hint { margin: 16px auto 0; max-width: 320px; color: var(--muted); font-size: 13px; }
.open-app { display: inline-block; margin-top: 12px; color: var(--alipay); font-weight: 600; }
.state-icon { width: 56px; height: 56px; margin: 8px auto 12px; border-radius: 50%; display: flex; align-items: center; justify-content: center; font-size: 30px; font-weight: 700; color: #fff; }
.state-icon.good { background: var(--good); }
.state-icon.idle { background: #9aa3b2; }
h2 { margin: 0 0 8px; font-size: 20px; }
.panel p { margin: 0; }
.panel .body { color: var(--muted); font-size: 15px; }
.panel .paid-at { margin-top: 12px; font-size: 14px; }
.button { margin-top: 20px; width: 100%; min-height: 44px; border: 0; border-radius: 10px; background: var(--accent); color: #fff; font: inherit; font-size: 16px; font-weight: 650; cursor: pointer; }
.button:focus-visible { outline: 2px solid var(--ink); outline-offset: 2px; }
.foot { margin: 0; padding: 14px 24px 18px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; text-align: center; }
.lock { display: inline-block; width: 9px; height: 7px; margin-right: 6px; border-radius: 1.5px; background: var(--muted); position: relative; top: -1px; }
.lock::before { content: ""; position: absolute; left: 1.5px; top: -5px; width: 6px; height: 6px; border: 1.5px solid var(--muted); border-bottom: 0; border-radius: 4px 4px 0 0; box-sizing: border-box; }
@media (min-width: 720px) { body { padding-top: 64px; } }
`;

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Asset paths under the router, named by content. */
export const ASSETS = {
  script: { path: `/assets/checkout.${fingerprint(CHECKOUT_SCRIPT)}.js`, type: 'text/javascript; charset=utf-8', body: CHECKOUT_SCRIPT },
  styles: { path: `/assets/checkout.${fingerprint(CHECKOUT_STYLES)}.css`, type: 'text/css; charset=utf-8', body: CHECKOUT_STYLES },
} as const;
