import { CURRENCY_EXPONENTS } from '../../core/money/currencies.js';

/**
 * Amounts arrive as integer minor-unit strings ("123456" fen). They are formatted by string
 * arithmetic on the digits and the currency's exponent, never through a floating-point number.
 */
export function formatMinor(minor: string, currency: string): string {
  const exponent = CURRENCY_EXPONENTS[currency];
  const m = /^(-?)(\d+)$/.exec(minor.trim());
  if (!m || exponent === undefined) return `${minor} ${currency} (minor units)`;
  const [, sign, rawDigits] = m;
  const digits = rawDigits.replace(/^0+(?=\d)/, '').padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = sign === '-' && /[1-9]/.test(digits);
  return `${negative ? '−' : ''}${grouped}${fraction} ${currency}`;
}

/** ISO time → "2026-05-01 09:00 UTC": staff across time zones read the same instant. */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/**
 * A billing period [start, end) as the dates it covers, both inclusive, as an invoice reads:
 * 2026-09-01T00:00Z … 2026-10-01T00:00Z → "2026-09-01 – 2026-09-30".
 */
export function formatPeriod(start: string, end: string): string {
  const endMs = Date.parse(end);
  const lastDay = Number.isNaN(endMs) ? end.slice(0, 10) : new Date(endMs - 1).toISOString().slice(0, 10);
  return `${start.slice(0, 10)} – ${lastDay}`;
}

/** Basis points as a percentage, by integer arithmetic: 150 → "1.50 %". */
export function formatBps(bps: number): string {
  const abs = Math.abs(Math.trunc(bps));
  return `${bps < 0 ? '−' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} %`;
}

/** An integer quantity from its decimal string, grouped: "18500000" → "18,500,000". */
export function formatQuantity(quantity: string): string {
  return /^-?\d+$/.test(quantity) ? quantity.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : quantity;
}

/**
 * What staff type as an amount ("200", "1,234.5", "0.01") in minor units of the currency, by string
 * arithmetic: "1,234.5" CNY → "123450". Undefined when it is not a positive amount with at most the
 * currency's decimals.
 */
export function parseMajor(text: string, currency: string): string | undefined {
  const exponent = CURRENCY_EXPONENTS[currency];
  const m = /^(\d{1,15})(?:\.(\d*))?$/.exec(text.trim().replace(/,/g, ''));
  if (!m || exponent === undefined || (m[2] ?? '').length > exponent) return undefined;
  const minor = `${m[1]}${(m[2] ?? '').padEnd(exponent, '0')}`.replace(/^0+(?=\d)/, '');
  return /[1-9]/.test(minor) ? minor : undefined;
}
