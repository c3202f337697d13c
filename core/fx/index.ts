import Papa from 'papaparse';
import { z } from 'zod';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, invalidInput, notFound } from '../errors/index.js';
import { currencyExponent, isSupportedCurrency } from '../money/currencies.js';
import { Dec, roundHalfUpToInteger } from '../pricing/decimal.js';
import type { FxRatesTable } from './tables.js';

export type * from './tables.js';

/**
 * FX rates, kept by finance in the back office. A rate is "units of `quote` per one unit of
 * `base`" (USD/CNY 7.1234: one dollar is 7.1234 yuan), a decimal string, never a float. Rates are
 * never edited: a later entry supersedes an earlier one. The rate in force for a pair at an
 * instant is the entry with the latest effective time at or before that instant; of two with the
 * same effective time, the one entered later. A missing rate is an error (`fx_rate_missing`),
 * never a silent 1.0 — and no rate is inverted behind finance's back: CNY/USD is a rate of its own.
 */

export const MAX_RATE_DECIMALS = 12;
export const MAX_IMPORT_ROWS = 10_000;

export const FxCurrency = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isSupportedCurrency, { error: (i) => `unsupported currency ${String(i.input)}` });

const RATE_TEXT = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$/;
export const FxRateDecimal = z
  .string()
  .trim()
  .regex(RATE_TEXT, `must be a positive decimal with at most ${MAX_RATE_DECIMALS} decimal places, e.g. 7.1234`)
  // (Only text the pattern accepts reaches decimal.js; the pattern's own message covers the rest.)
  .refine((v) => !RATE_TEXT.test(v) || new Dec(v).gt(0), 'must be greater than zero')
  // One value, one text: 7.12340 is stored as 7.1234.
  .transform((v) => new Dec(v).toFixed());

export const IsoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time, e.g. 2026-06-01T00:00:00Z' }).transform((v) => new Date(v).toISOString());

export const FxRateInput = z
  .object({
    from: FxCurrency,
    to: FxCurrency,
    rate: FxRateDecimal,
    effectiveAt: IsoInstant.optional(),
    source: z.string().trim().min(1, 'say where the rate comes from').max(200).default('manual entry'),
  })
  .refine((r) => r.from !== r.to, { message: 'from and to must differ', path: ['to'] });
export type FxRateInput = z.output<typeof FxRateInput>;

export interface FxRateView {
  id: string;
  pair: string;
  base: string;
  quote: string;
  rate: string;
  effectiveAt: string;
  source: string;
  enteredBy: string | null;
  importBatch: string | null;
  createdAt: string;
}

export function fxRateView(r: FxRatesTable): FxRateView {
  return {
    id: r.id,
    pair: `${r.base}/${r.quote}`,
    base: r.base,
    quote: r.quote,
    rate: r.rate,
    effectiveAt: r.effective_at,
    source: r.source,
    enteredBy: r.entered_by,
    importBatch: r.import_batch,
    createdAt: r.created_at,
  };
}

function rowFor(ctx: CoreContext, input: FxRateInput, enteredBy: string | null, importBatch: string | null): FxRatesTable {
  const now = ctx.clock.now().toISOString();
  return {
    id: ctx.ids.next('fxr'),
    base: input.from,
    quote: input.to,
    rate: input.rate,
    effective_at: input.effectiveAt ?? now,
    source: input.source,
    entered_by: enteredBy,
    import_batch: importBatch,
    created_at: now,
  };
}

export async function setFxRate(ctx: CoreContext, input: FxRateInput, enteredBy: string | null): Promise<FxRateView> {
  const row = rowFor(ctx, input, enteredBy, null);
  await ctx.db.kysely.insertInto('fx_rates').values(row).execute();
  return fxRateView(row);
}

/**
 * Imports a CSV of rates (header `from,to,rate,effectiveAt,source`; `effectiveAt` and `source`
 * may be empty). All or nothing: one bad row refuses the whole file, naming its line.
 */
export async function importFxRates(
  ctx: CoreContext,
  csv: string,
  enteredBy: string | null,
  defaultSource = 'CSV import',
  options: { onProgress?: (done: number, total: number) => void } = {},
): Promise<{ batch: string; imported: FxRateView[] }> {
  const text = csv.replace(/^\uFEFF/, '');
  const fail = (line: number | null, message: string) => invalidInput('fx_import_invalid', line === null ? message : `Line ${line}: ${message}`, { line });
  // The file's own line numbers, blank lines and quoted line breaks included: each row's line is
  // where its first character stands (papaparse reports only where a row ends).
  const lineOf = lineCounter(text);
  const data: Array<{ line: number; raw: Record<string, string> }> = [];
  let rowStart = text.indexOf('\n') + 1;
  let header: string[] = [];
  let parseError: { line: number; message: string } | null = null;
  Papa.parse<Record<string, string>>(text, {
    header: true,
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim(),
    step: (row, parser) => {
      header = row.meta.fields ?? header;
      while (rowStart < text.length && /\s/.test(text[rowStart])) rowStart++;
      const line = lineOf(rowStart);
      rowStart = row.meta.cursor;
      if (row.errors.length > 0) {
        parseError = { line, message: row.errors[0].message };
        parser.abort();
        return;
      }
      if (data.length >= MAX_IMPORT_ROWS) {
        parseError = { line, message: `at most ${MAX_IMPORT_ROWS} rates per file` };
        parser.abort();
        return;
      }
      data.push({ line, raw: row.data });
    },
  });
  if (header.length === 0) header = (Papa.parse<string[]>(text, { preview: 1 }).data[0] ?? []).map((h) => h.trim());
  const missing = ['from', 'to', 'rate'].filter((f) => !header.includes(f));
  if (missing.length > 0) throw fail(1, `the header must name from, to, rate (and may name effectiveAt, source); missing ${missing.join(', ')}`);
  const unknown = header.filter((f) => !['from', 'to', 'rate', 'effectiveAt', 'source'].includes(f));
  if (unknown.length > 0) throw fail(1, `unknown column ${unknown.join(', ')}`);
  const stopped = parseError as { line: number; message: string } | null;
  if (stopped) throw fail(stopped.line, stopped.message);
  if (data.length === 0) throw fail(null, 'the file has no rates');
  const batch = ctx.ids.next('fxb');
  const rows = data.map(({ line, raw }) => {
    const r = FxRateInput.safeParse({
      from: raw.from,
      to: raw.to,
      rate: raw.rate,
      effectiveAt: raw.effectiveAt?.trim() ? raw.effectiveAt.trim() : undefined,
      source: raw.source?.trim() ? raw.source : defaultSource,
    });
    if (!r.success) {
      const issue = r.error.issues[0];
      throw fail(line, `${issue.path.join('.') || 'row'}: ${issue.message}`);
    }
    return rowFor(ctx, r.data, enteredBy, batch);
  });
  options.onProgress?.(0, rows.length);
  await inTransaction(ctx, async (tx) => {
    // Chunks keep each INSERT under SQLite's bound-parameter limit; each one is a progress step
    // (all or nothing still: one transaction, so a screen's bar at 100% means nothing yet until
    // the command answers).
    for (let i = 0; i < rows.length; i += 500) {
      await tx.db.kysely
        .insertInto('fx_rates')
        .values(rows.slice(i, i + 500))
        .execute();
      options.onProgress?.(Math.min(i + 500, rows.length), rows.length);
    }
  });
  return { batch, imported: rows.map(fxRateView) };
}

/** Line number (1-based) of a character offset; offsets asked for must not decrease. */
function lineCounter(text: string): (offset: number) => number {
  let at = 0;
  let line = 1;
  return (offset) => {
    for (; at < offset && at < text.length; at++) if (text.charCodeAt(at) === 10) line++;
    return line;
  };
}

function parsePair(pair: string): { base: string; quote: string } {
  const m = /^([A-Za-z]{3,4})\/([A-Za-z]{3,4})$/.exec(pair.trim());
  if (!m) throw invalidInput('fx_pair_invalid', `A pair reads FROM/TO, e.g. USD/CNY (got ${pair})`);
  return { base: m[1].toUpperCase(), quote: m[2].toUpperCase() };
}

/** The rate in force for base→quote at `at`, or `fx_rate_missing`. */
export async function fxRateAt(ctx: CoreContext, base: string, quote: string, at: Date | string): Promise<FxRateView> {
  const instant = new Date(at).toISOString();
  const row = await ctx.db.kysely
    .selectFrom('fx_rates')
    .selectAll()
    .where('base', '=', base)
    .where('quote', '=', quote)
    .where('effective_at', '<=', instant)
    .orderBy('effective_at', 'desc')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) {
    throw new DomainError('conflict', 'fx_rate_missing', `No ${base}/${quote} rate in force at ${instant}: enter one with fx:set ${base} ${quote} RATE --effective …`, {
      details: { pair: `${base}/${quote}`, at: instant },
    });
  }
  return fxRateView(row);
}

export async function getFxRate(ctx: CoreContext, id: string): Promise<FxRateView> {
  const row = await ctx.db.kysely.selectFrom('fx_rates').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('fx_rate_not_found', `No FX rate ${id}`);
  return fxRateView(row);
}

/**
 * With `at`: the rate in force at that instant, per pair (one pair with `pair`). Without: every
 * entry, newest effective first — the history, superseded rates included.
 */
export async function listFxRates(ctx: CoreContext, filter: { pair?: string; at?: string; limit: number }): Promise<FxRateView[]> {
  const pair = filter.pair ? parsePair(filter.pair) : undefined;
  if (filter.at) {
    const pairs = pair ? [pair] : await ctx.db.kysely.selectFrom('fx_rates').select(['base', 'quote']).distinct().orderBy('base').orderBy('quote').execute();
    const out: FxRateView[] = [];
    for (const p of pairs.slice(0, filter.limit)) {
      try {
        out.push(await fxRateAt(ctx, p.base, p.quote, filter.at));
      } catch (e) {
        if (!(e instanceof DomainError && e.code === 'fx_rate_missing') || filter.pair) throw e;
      }
    }
    return out;
  }
  let q = ctx.db.kysely.selectFrom('fx_rates').selectAll().orderBy('effective_at', 'desc').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
  if (pair) q = q.where('base', '=', pair.base).where('quote', '=', pair.quote);
  return (await q.execute()).map(fxRateView);
}

/**
 * An amount in `from`'s minor units converted at `rate` (units of `to` per unit of `from`) to
 * `to`'s minor units, rounded once, half-up. Exponents differ between currencies (USD 2, JPY 0,
 * USDC 6): 2,750 USD cents at 7.1234 → 19,589 fen.
 */
export function convertMinor(amountMinor: string, from: string, to: string, rate: string): string {
  if (!/^[0-9]+$/.test(amountMinor)) throw new Error(`convertMinor: ${amountMinor} is not a whole number of minor units`);
  if (from === to) return amountMinor;
  const shift = currencyExponent(to) - currencyExponent(from);
  const value = new Dec(amountMinor).times(new Dec(rate)).times(new Dec(10).pow(shift));
  return roundHalfUpToInteger(value);
}
