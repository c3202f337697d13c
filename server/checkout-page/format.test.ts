import { describe, expect, it } from 'vitest';
import { escapeHtml, formatCountdown, formatFen, formatPeriod } from './format.js';
import { payerState } from '../../core/payments/hosted-checkout.js';
import { MESSAGES, negotiateLanguage } from './messages.js';

describe('escapeHtml', () => {
  it('escapes the five characters that end text or an attribute, and nothing else', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    expect(escapeHtml('光年智能 ¥ — ok')).toBe('光年智能 ¥ — ok');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });
});

describe('formatFen', () => {
  it('writes whole fen as yuan by string arithmetic, exact beyond 2^53', () => {
    expect(formatFen('71234', 'en')).toBe('¥712.34');
    expect(formatFen('71234', 'zh')).toBe('¥712.34');
    expect(formatFen('5', 'en')).toBe('¥0.05');
    expect(formatFen('0', 'en')).toBe('¥0.00');
    expect(formatFen('100', 'en')).toBe('¥1.00');
    expect(formatFen('000123', 'en')).toBe('¥1.23');
    expect(formatFen('123456789', 'en')).toBe('¥1,234,567.89');
    // 2^53 + 1 fen: a float would have lost the last fen.
    expect(formatFen('9007199254740993', 'en')).toBe('¥90,071,992,547,409.93');
    expect(() => formatFen('1.5', 'en')).toThrow();
    expect(() => formatFen('-1', 'en')).toThrow();
  });
});

describe('formatPeriod and formatCountdown', () => {
  it('a period [start, end) as its inclusive days, per language', () => {
    expect(formatPeriod('2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z', 'en')).toBe('May 1\u2009–\u200931, 2026');
    expect(formatPeriod('2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z', 'zh')).toBe('2026年5月1日至2026年5月31日');
  });
  it('the time left, rounded up to the second', () => {
    expect(formatCountdown(2 * 3600_000)).toBe('2:00:00');
    expect(formatCountdown(245_000)).toBe('4:05');
    expect(formatCountdown(1)).toBe('0:01');
    expect(formatCountdown(-5)).toBe('0:00');
  });
});

describe('negotiateLanguage', () => {
  it('takes the most preferred language the page has (q-values, q=0 excluded, default English)', () => {
    expect(negotiateLanguage(undefined)).toBe('en');
    expect(negotiateLanguage('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh');
    expect(negotiateLanguage('en-US,en;q=0.9,zh-CN;q=0.8')).toBe('en');
    expect(negotiateLanguage('en;q=0.5, zh-CN;q=0.9')).toBe('zh');
    expect(negotiateLanguage('zh;q=0, en')).toBe('en');
    expect(negotiateLanguage('ZH-hans')).toBe('zh');
    expect(negotiateLanguage('zh-TW')).toBe('zh');
    expect(negotiateLanguage('fr, de;q=0.9')).toBe('en');
    expect(negotiateLanguage('fr, zh;q=0.1')).toBe('zh');
    expect(negotiateLanguage('*;q=0.5, zh;q=0.4')).toBe('en');
    expect(negotiateLanguage('zhx, en-GB')).toBe('en');
    expect(negotiateLanguage(';;,,q=1')).toBe('en');
  });
  it('Chinese has every English key', () => {
    const keys = (o: object, p = ''): string[] => Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${p}${k}`] : keys(v, `${p}${k}.`)));
    expect(keys(MESSAGES.zh)).toEqual(keys(MESSAGES.en));
  });
});

describe('payerState', () => {
  const now = new Date('2026-06-02T01:00:00.000Z');
  const facts = { orderStatus: 'open' as const, expiresAt: '2026-06-02T02:00:00.000Z', orderPaidAt: null, invoiceStatus: 'payment_pending' as const, invoicePaidAt: null };
  it('maps the order and its invoice to what the payer is told', () => {
    expect(payerState(facts, now)).toEqual({ status: 'open', paidAt: null });
    expect(payerState({ ...facts, orderStatus: 'creating' }, now).status).toBe('open');
    expect(payerState(facts, new Date('2026-06-02T02:00:00.000Z')).status).toBe('expired');
    for (const orderStatus of ['expired', 'closed', 'failed'] as const) expect(payerState({ ...facts, orderStatus }, now).status).toBe('expired');
    expect(payerState({ ...facts, orderStatus: 'paid', orderPaidAt: 'A', invoiceStatus: 'paid', invoicePaidAt: 'B' }, now)).toEqual({ status: 'paid', paidAt: 'A' });
    // Paid through the other channel's order: this page says paid too (the payer must not pay twice).
    expect(payerState({ ...facts, invoiceStatus: 'paid', invoicePaidAt: 'B' }, now)).toEqual({ status: 'paid', paidAt: 'B' });
    expect(payerState({ ...facts, orderStatus: 'paid', invoiceStatus: 'refunded' }, now).status).toBe('refunded');
    expect(payerState({ ...facts, invoiceStatus: 'void' }, now).status).toBe('void');
    expect(payerState({ ...facts, orderStatus: 'closed', invoiceStatus: 'void' }, now).status).toBe('void');
  });
});
