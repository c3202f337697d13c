import { z } from 'zod';
import { FxCurrency, FxRateDecimal, IsoInstant, importFxRates, listFxRates, setFxRate } from '../../fx/index.js';
import { defineCommand } from '../registry.js';
import { Limit } from './shared.js';

/**
 * FX rates, kept by finance and admins. Entering a rate is step-up: the rate decides how much
 * every invoice generated after it collects and settles, so a stolen session alone must not be
 * able to move it. Reading rates needs no step-up.
 */

const FxRate = z.object({
  id: z.string(),
  pair: z.string(),
  base: z.string(),
  quote: z.string(),
  rate: z.string(),
  effectiveAt: z.string(),
  source: z.string(),
  enteredBy: z.string().nullable(),
  importBatch: z.string().nullable(),
  createdAt: z.string(),
});

export const fxSet = defineCommand({
  name: 'fx:set',
  summary: 'Enter an FX rate: fx:set FROM TO RATE [--effective ISO] [--source TEXT] (supersedes, never edits)',
  input: z
    .object({
      from: FxCurrency.meta({ description: 'Base currency, e.g. USD' }),
      to: FxCurrency.meta({ description: 'Quote currency, e.g. CNY' }),
      rate: FxRateDecimal.meta({ description: 'Units of TO per one FROM, a decimal string, e.g. 7.1234' }),
      effective: IsoInstant.optional().meta({ description: 'When the rate takes effect (ISO-8601; default now)' }),
      source: z.string().trim().min(1).max(200).default('manual entry').meta({ description: 'Where the rate comes from, e.g. "PBoC central parity"' }),
    })
    .refine((r) => r.from !== r.to, { message: 'from and to must differ', path: ['to'] }),
  output: FxRate,
  roles: ['admin', 'finance'],
  stepUp: true,
  mutates: true,
  positional: ['from', 'to', 'rate'],
  async handler(ctx, input) {
    const rate = await setFxRate(ctx, { ...input, effectiveAt: input.effective }, ctx.staff.id);
    ctx.touch(rate.id);
    return rate;
  },
});

export const fxImport = defineCommand({
  name: 'fx:import',
  summary: 'Import rates from CSV (from,to,rate,effectiveAt,source): all or nothing, a bad row names its line',
  input: z.object({
    csv: z
      .string()
      .min(1)
      .max(5 * 1024 * 1024)
      .meta({ description: 'The CSV text (the CLI reads it from --file)' }),
    source: z.string().trim().min(1).max(200).optional().meta({ description: 'Source for rows that name none (default "CSV import")' }),
  }),
  output: z.object({ batch: z.string(), imported: z.number(), pairs: z.array(z.string()) }),
  roles: ['admin', 'finance'],
  stepUp: true,
  mutates: true,
  fileInput: { flag: 'file', key: 'csv' },
  async handler(ctx, input) {
    const { batch, imported } = await importFxRates(ctx, input.csv, ctx.staff.id, input.source, { onProgress: (done, total) => ctx.progress(done, total) });
    ctx.touch(batch);
    return { batch, imported: imported.length, pairs: [...new Set(imported.map((r) => r.pair))].sort() };
  },
});

export const fxList = defineCommand({
  name: 'fx:list',
  summary: 'FX rates: the history, or with --at the rate in force at that instant (per pair, or --pair USD/CNY)',
  input: z.object({
    pair: z.string().optional().meta({ description: 'FROM/TO, e.g. USD/CNY' }),
    at: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time' }).optional().meta({ description: 'The rate in force at this instant' }),
    limit: Limit,
  }),
  output: z.object({ at: z.string().nullable(), items: z.array(FxRate) }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  handler: async (ctx, input) => ({ at: input.at ?? null, items: await listFxRates(ctx, input) }),
});
