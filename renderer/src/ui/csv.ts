import Papa from 'papaparse';
import { CURRENCY_EXPONENTS } from '../../../core/money/currencies.js';

/**
 * CSV export for every table (DataTable's "Export CSV"), safe to open in Excel, WPS or LibreOffice.
 *
 * - Formula-safe (OWASP "CSV injection"): a cell that begins with = + - @ TAB or CR would be run as
 *   a formula by a spreadsheet, so it gets a leading single quote ('=HYPERLINK(…) stays text).
 *   Plain decimal numbers ("-1234.56") are left as they are: a number cannot be a formula, and a
 *   finance officer needs negative amounts to stay numbers.
 * - Exact amounts: columns export what their `meta.csv(row)` returns; for money that is
 *   `minorToDecimal(minor, currency)`, a plain decimal string computed from the integer minor
 *   units by string arithmetic (never through a float, never "1,234.56 USD").
 * - UTF-8 with a byte-order mark, CRLF line ends: Excel then reads Chinese names correctly.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/** One cell's text as it is written to the file (before CSV quoting, which papaparse does). */
export function formulaSafe(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_DECIMAL.test(text) ? `'${text}` : text;
}

/** Integer minor units → exact plain decimal in major units: ("-123456", "USD") → "-1234.56"; ("5", "JPY") → "5". */
export function minorToDecimal(minor: string, currency: string): string {
  const exponent = CURRENCY_EXPONENTS[currency];
  const m = /^(-?)(\d+)$/.exec(minor.trim());
  if (!m || exponent === undefined) return minor;
  const [, sign, raw] = m;
  const digits = raw.replace(/^0+(?=\d)/, '').padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${sign && /[1-9]/.test(digits) ? '-' : ''}${whole}${fraction}`;
}

/** Any cell value as text: strings as they are, numbers and booleans printed, objects as JSON, nothing as empty. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The file's whole text: BOM, header row, one line per row, every cell formula-safe. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // Escaping is ours (above), so numbers keep their sign; papaparse only quotes. The header goes in
  // as the first data row: papaparse ends a header-only file with a stray newline otherwise.
  const body = Papa.unparse(
    [header, ...rows].map((r) => r.map(formulaSafe)),
    { quotes: false, newline: '\r\n', escapeFormulae: false },
  );
  return `\uFEFF${body}\r\n`;
}

/** "Invoices" on 2026-07-05 → "invoices-2026-07-05.csv"; letters of any script are kept (发票-2026-07-05.csv). */
export function csvFileName(label: string, at: Date): string {
  const slug =
    label
      .normalize('NFC')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '') || 'table';
  return `${slug}-${at.toISOString().slice(0, 10)}.csv`;
}

/**
 * Saves the text as a file: a Blob URL through an <a download>. No navigation happens (the CSP
 * and Electron's will-navigate guard are not involved); the URL is revoked once the click is done.
 */
export function downloadCsv(fileName: string, text: string): void {
  downloadBlob(fileName, new Blob([text], { type: 'text/csv;charset=utf-8' }));
}

/**
 * Saves bytes exactly as they are (a payout file whose SHA-256 was recorded: no BOM added, no
 * re-encoding). In Electron an <a download> opens the native save dialog; in a browser, a download.
 */
export function downloadBytes(fileName: string, bytes: Uint8Array, mime: string): void {
  downloadBlob(fileName, new Blob([bytes as BlobPart], { type: mime }));
}

/** Base64 (as commands carry files) → the exact bytes. */
export function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function downloadBlob(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
