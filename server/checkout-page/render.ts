import { CHANNEL_NAMES, type ChannelName } from '../../core/payments/index.js';
import { ASSETS } from './assets.js';
import { escapeHtml as e, formatCountdown, formatFen, formatInstant, formatPeriod } from './format.js';
import type { HostedCheckout, PayerState } from '../../core/payments/hosted-checkout.js';
import { type Language, MESSAGES, type PageMessages, fill } from './messages.js';

/**
 * The pages as HTML strings. Every value from the database or the request goes through `e`
 * (escapeHtml) where it is written — text and attributes alike; the templates' own strings are
 * ours. Nothing inline: no `style=` and no `<script>` body (the CSP forbids both).
 */

export type Notice = 'unavailable' | 'busy';

export interface CheckoutPageInput {
  checkout: HostedCheckout;
  state: PayerState;
  paidAt: string | null;
  language: Language;
  /** The router's mount path as the request saw it (`/pay`). */
  base: string;
  now: Date;
  notice?: { kind: Notice; channel?: ChannelName };
}

const MARK: Record<ChannelName, string> = { wechat: '微', alipay: '支' };
const PANELS: PayerState[] = ['open', 'paid', 'expired', 'void', 'refunded'];

function head(m: PageMessages, base: string, title: string): string {
  return `<!doctype html>
<html lang="${e(m.htmlLang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light">
<title>${e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${e(base + ASSETS.styles.path)}">
<script src="${e(base + ASSETS.script.path)}" defer></script>
</head>
`;
}

function channelMark(channel: ChannelName): string {
  return `<span class="mark ${channel}" aria-hidden="true">${MARK[channel]}</span>`;
}

function openPanel(input: CheckoutPageInput, m: PageMessages, action: string): string {
  const { checkout: c, now } = input;
  // Always in the same order (WeChat Pay, Alipay): the current one marked, the other a button.
  const method = (channel: ChannelName) =>
    channel === c.channel
      ? `<span class="method" aria-current="true" data-channel="${channel}">${channelMark(channel)}${e(m.channels[channel])}</span>`
      : `<button class="method" type="submit" name="channel" value="${channel}" data-channel="${channel}" title="${e(fill(m.switchTo, { channel: m.channels[channel] }))}">${channelMark(channel)}${e(m.channels[channel])}</button>`;
  const methods = `<form class="switch" method="post" action="${e(action)}">
<fieldset class="methods">
<legend>${e(m.switchLabel)}</legend>
${CHANNEL_NAMES.map(method).join('\n')}
</fieldset>
</form>`;
  const alipayLink =
    c.channel === 'alipay' && c.codeUrl && /^https:\/\/qr\.alipay\.com\//.test(c.codeUrl)
      ? `<a class="open-app" href="${e(c.codeUrl)}" rel="noreferrer">${e(m.openAlipay)}</a>`
      : '';
  const qr = c.qr
    ? `<figure class="qr">
<div class="qr-frame"><img id="qr" src="${e(c.qr)}" alt="${e(m.qrAlt[c.channel])}" width="232" height="232"></div>
<figcaption>${e(m.scanWith[c.channel])}</figcaption>
</figure>
<p class="countdown">${e(m.expiresIn)} <span id="countdown" role="timer">${e(formatCountdown(Date.parse(c.expiresAt) - now.getTime()))}</span></p>
${alipayLink}<p class="hint">${e(m.onThisPhone)}</p>`
    : `<p class="body">${e(m.qrMissing)}</p>`;
  return `${methods}\n${qr}`;
}

/** The hosted checkout page: every state's panel is on it, the current one shown (the script switches). */
export function renderCheckoutPage(input: CheckoutPageInput): string {
  const { checkout: c, state, language, base } = input;
  const m = MESSAGES[language];
  const merchant = c.merchantName;
  const self = `${base}/${encodeURIComponent(c.token)}`;
  const action = `${self}/channel`;
  const titles: Record<PayerState, string> = {
    open: fill(m.title, { merchant }),
    paid: fill(m.titlePaid, { merchant }),
    expired: fill(m.titleExpired, { merchant }),
    void: m.void.heading,
    refunded: m.refunded.heading,
  };
  const hidden = (panel: PayerState) => (panel === state ? '' : ' hidden');
  const paidAt = input.paidAt;
  const notice = input.notice
    ? `<p class="notice" role="alert">${e(input.notice.kind === 'unavailable' ? fill(m.notices.unavailable, { channel: m.channels[input.notice.channel ?? c.channel] }) : m.notices.busy)}</p>\n`
    : '';
  const monogram = Array.from(merchant.trim())[0]?.toUpperCase() ?? '?';
  const dataTitles = PANELS.map((p) => ` data-title-${p}="${e(titles[p])}"`).join('');
  return `${head(m, base, titles[state])}<body>
<main id="checkout" class="card" data-state="${state}" data-channel="${c.channel}" data-status-url="${e(`${self}/status`)}" data-expires-at="${e(c.expiresAt)}" data-server-now="${e(input.now.toISOString())}"${dataTitles}>
${c.environment === 'sandbox' ? `<p class="sandbox">${e(m.sandbox)}</p>\n` : ''}<header class="head">
<div class="monogram" aria-hidden="true">${e(monogram)}</div>
<h1 id="merchant">${e(merchant)}</h1>
<p class="invoice" id="invoice">${e(fill(m.invoice, { number: c.invoiceNumber }))}</p>
</header>
<dl class="facts">
<div><dt>${e(m.period)}</dt><dd id="period">${e(formatPeriod(c.periodStart, c.periodEnd, language))}</dd></div>
<div><dt>${e(m.amount)}</dt><dd class="amount" id="amount">${e(formatFen(c.amountMinor, language))}<span class="ccy">${e(c.currency)}</span></dd></div>
</dl>
${notice}<div aria-live="polite">
<section class="panel" data-panel="open"${hidden('open')}>
${openPanel(input, m, action)}
</section>
<section class="panel" data-panel="paid"${hidden('paid')}>
<div class="state-icon good" aria-hidden="true">✓</div>
<h2>${e(m.paid.heading)}</h2>
<p class="body">${e(fill(m.paid.body, { merchant }))}</p>
<p class="paid-at" id="paid-at-line"${paidAt ? '' : ' hidden'}>${e(m.paid.at)} <time id="paid-at"${paidAt ? ` datetime="${e(paidAt)}"` : ''}>${paidAt ? e(formatInstant(paidAt, language)) : ''}</time></p>
</section>
<section class="panel" data-panel="expired"${hidden('expired')}>
<div class="state-icon idle" aria-hidden="true">!</div>
<h2>${e(m.expired.heading)}</h2>
<p class="body">${e(m.expired.body)}</p>
<form method="post" action="${e(action)}"><button class="button" type="submit" name="channel" value="${c.channel}">${e(m.expired.again)}</button></form>
</section>
<section class="panel" data-panel="void"${hidden('void')}>
<div class="state-icon idle" aria-hidden="true">×</div>
<h2>${e(m.void.heading)}</h2>
<p class="body">${e(fill(m.void.body, { merchant }))}</p>
</section>
<section class="panel" data-panel="refunded"${hidden('refunded')}>
<div class="state-icon idle" aria-hidden="true">↺</div>
<h2>${e(m.refunded.heading)}</h2>
<p class="body">${e(m.refunded.body)}</p>
</section>
</div>
<p class="foot"><span class="lock" aria-hidden="true"></span>${e(fill(m.footer, { merchant }))}</p>
</main>
</body>
</html>
`;
}

export type MessagePage = 'notFound' | 'rateLimited' | 'failed';

/** A page with only a message (unknown link, too many requests, an error), in the payer's language. */
export function renderMessagePage(kind: MessagePage, language: Language, base: string): string {
  const m = MESSAGES[language];
  const text = m[kind];
  return `${head(m, base, text.title)}<body>
<main class="card">
<section class="panel">
<div class="state-icon idle" aria-hidden="true">?</div>
<h2>${e(text.heading)}</h2>
<p class="body">${e(text.body)}</p>
</section>
</main>
</body>
</html>
`;
}
