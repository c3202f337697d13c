import type { Language } from './messages.js';

/** The page's text as HTML text or a double-quoted attribute value: the five characters that matter. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const LOCALES: Record<Language, string> = { en: 'en', zh: 'zh-CN' };

/**
 * Whole fen (a decimal string) as the locale writes yuan: "71234" → "¥712.34". Intl lays out the
 * symbol and grouping of the whole yuan (a BigInt, exact at any size); the two fen digits are put
 * in its fraction slot from the string, so no amount ever passes through a float.
 */
export function formatFen(minor: string, language: Language): string {
  const m = /^(\d+)$/.exec(minor.trim());
  if (!m) throw new Error(`not a whole number of fen: ${minor}`);
  const digits = m[1].replace(/^0+(?=\d)/, '').padStart(3, '0');
  const yuan = BigInt(digits.slice(0, -2));
  const fen = digits.slice(-2);
  const parts = new Intl.NumberFormat(LOCALES[language], { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol' }).formatToParts(yuan);
  return parts.map((p) => (p.type === 'fraction' ? fen : p.value)).join('');
}

/** A billing period [start, end) as the days it covers, both inclusive: "May 1 – 31, 2026", "2026年5月1日至2026年5月31日". */
export function formatPeriod(start: string, end: string, language: Language): string {
  const from = new Date(start);
  const to = new Date(Date.parse(end) - 1);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${start.slice(0, 10)} – ${end.slice(0, 10)}`;
  const dates = new Intl.DateTimeFormat(LOCALES[language], { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
  // ICU's Chinese range pattern falls back to "2026/5/1 – 2026/5/31"; both dates written out read better.
  return language === 'zh' ? `${dates.format(from)}至${dates.format(to)}` : dates.formatRange(from, to);
}

/**
 * An instant for the payer, in China time (the page collects CNY; the browser's script rewrites
 * it in the payer's own zone).
 */
export function formatInstant(iso: string, language: Language): string {
  return new Intl.DateTimeFormat(LOCALES[language], {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'Asia/Shanghai',
    timeZoneName: 'short',
  }).format(new Date(iso));
}

/** Milliseconds left as the countdown shows them: "1:59:07", "4:05", "0:00". */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
