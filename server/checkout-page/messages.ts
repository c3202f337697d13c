/**
 * The page's strings, English and Simplified Chinese. `en` is the source of truth; `zh` must have
 * exactly its keys (`Messages<typeof en>`, as in renderer/src/i18n), so a missing translation
 * fails the typecheck. `{name}` placeholders are filled by `fill` (the values are escaped by the
 * renderer, never the templates' own text).
 */
const en = {
  htmlLang: 'en',
  title: 'Pay {merchant}',
  titlePaid: 'Paid — {merchant}',
  titleExpired: 'Payment request expired — {merchant}',
  invoice: 'Invoice {number}',
  period: 'Billing period',
  amount: 'Amount',
  channels: { wechat: 'WeChat Pay', alipay: 'Alipay' },
  scanWith: { wechat: 'Open WeChat and scan the code to pay', alipay: 'Open Alipay and scan the code to pay' },
  qrAlt: { wechat: 'WeChat Pay QR code for this payment', alipay: 'Alipay QR code for this payment' },
  onThisPhone: 'Paying on this phone? Save the code as a picture and scan it from your photos in the app.',
  openAlipay: 'Open in Alipay',
  expiresIn: 'This code expires in',
  switchTo: 'Use {channel} instead',
  switchLabel: 'Payment method',
  qrMissing: 'The payment code is not ready. Reload the page, or choose a payment method again.',
  paid: { heading: 'Paid — thank you', body: 'Your payment to {merchant} was received. You can close this page.', at: 'Paid on' },
  expired: { heading: 'This payment request expired', body: 'Nothing was charged by this code. Get a new code to pay.', again: 'Get a new payment code' },
  void: { heading: 'This invoice was cancelled', body: '{merchant} cancelled this invoice. Nothing is due; contact them if you have questions.' },
  refunded: { heading: 'This invoice was refunded', body: 'The payment for this invoice was refunded to you.' },
  notices: {
    unavailable: '{channel} is not available right now. Try again in a moment, or pay with the other method.',
    busy: 'Too many attempts. Wait a moment and try again.',
  },
  sandbox: 'Test mode: no real money moves.',
  footer: 'Secure payment processed by BuffMoney for {merchant}.',
  notFound: { title: 'Payment link not found', heading: 'This payment link is not valid', body: 'Check the link you were sent, or ask the merchant for a new one.' },
  rateLimited: { title: 'Too many requests', heading: 'Too many requests', body: 'Wait a moment, then reload the page.' },
  failed: { title: 'Something went wrong', heading: 'Something went wrong', body: 'We could not load this payment. Reload the page in a moment.' },
};

type Messages<T> = { [K in keyof T]: T[K] extends string ? string : Messages<T[K]> };

const zh: Messages<typeof en> = {
  htmlLang: 'zh-CN',
  title: '向{merchant}付款',
  titlePaid: '已支付 — {merchant}',
  titleExpired: '付款请求已过期 — {merchant}',
  invoice: '账单 {number}',
  period: '计费周期',
  amount: '金额',
  channels: { wechat: '微信支付', alipay: '支付宝' },
  scanWith: { wechat: '打开微信，扫描二维码付款', alipay: '打开支付宝，扫描二维码付款' },
  qrAlt: { wechat: '本次付款的微信支付二维码', alipay: '本次付款的支付宝二维码' },
  onThisPhone: '在本机付款？请将二维码保存到相册，再在应用中从相册识别。',
  openAlipay: '在支付宝中打开',
  expiresIn: '二维码剩余有效时间',
  switchTo: '改用{channel}',
  switchLabel: '支付方式',
  qrMissing: '付款二维码尚未就绪。请刷新页面，或重新选择支付方式。',
  paid: { heading: '支付成功，谢谢', body: '{merchant}已收到您的付款。您可以关闭此页面。', at: '支付时间' },
  expired: { heading: '此付款请求已过期', body: '此二维码未产生任何扣款。请获取新的二维码付款。', again: '获取新的付款二维码' },
  void: { heading: '此账单已取消', body: '{merchant}已取消此账单，无需付款；如有疑问请联系商户。' },
  refunded: { heading: '此账单已退款', body: '此账单的付款已退还给您。' },
  notices: {
    unavailable: '{channel}暂时不可用。请稍后重试，或使用另一种支付方式。',
    busy: '尝试次数过多，请稍后再试。',
  },
  sandbox: '测试模式：不会产生真实扣款。',
  footer: '由 BuffMoney 为 {merchant} 提供安全收款服务。',
  notFound: { title: '未找到付款链接', heading: '此付款链接无效', body: '请核对您收到的链接，或联系商户获取新链接。' },
  rateLimited: { title: '请求过多', heading: '请求过多', body: '请稍候再刷新页面。' },
  failed: { title: '出错了', heading: '出错了', body: '暂时无法加载此付款，请稍后刷新页面。' },
};

export type Language = 'en' | 'zh';
export type PageMessages = typeof en;
export const MESSAGES: Record<Language, PageMessages> = { en, zh };

/** `{name}` → values[name]; the caller escapes the result for where it goes. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/**
 * The page's language from `Accept-Language` (RFC 9110 §12.5.4): ranges by descending q (ties in
 * the order sent), q=0 meaning "not acceptable"; the first range that names Chinese or English
 * wins, `*` or nothing usable means English. Every `zh` range (zh-CN, zh-Hans, zh-TW, …) gets
 * Simplified Chinese: the only Chinese the page has, and closer to a Chinese reader than English.
 */
export function negotiateLanguage(header: string | undefined): Language {
  if (!header) return 'en';
  const ranges: Array<{ tag: string; q: number; i: number }> = [];
  for (const [i, part] of header.split(',').slice(0, 32).entries()) {
    const [rawTag, ...params] = part.trim().split(';');
    const tag = rawTag.trim().toLowerCase();
    if (!tag) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > 0) ranges.push({ tag, q, i });
  }
  ranges.sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranges) {
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh';
    if (tag === 'en' || tag.startsWith('en-') || tag === '*') return 'en';
  }
  return 'en';
}
