import { z } from 'zod';
import { ATTENTION_KINDS, attentionItems, monthlySeries } from '../../reports/index.js';
import { defineCommand } from '../registry.js';

/**
 * The home screen's one read: what needs attention, and twelve months of invoiced usage and
 * amounts. Every role may open it, but only finance and admins get the money series: support
 * answers one merchant's question at a time and already reads that merchant's invoices; the
 * platform's monthly totals are business figures it has no need for. Support still sees the
 * attention counts, whose links lead to screens it may open (KYB queue, invoices).
 */
export const reportsOverview = defineCommand({
  name: 'reports:overview',
  summary: 'What needs attention (KYB waiting, periods not invoiced) and 12 months of invoiced usage and amounts',
  input: z.object({
    environment: z.enum(['sandbox', 'live']).default('live').meta({ description: 'Whose invoices the series count (default live)' }),
  }),
  output: z.object({
    asOf: z.string(),
    environment: z.enum(['sandbox', 'live']),
    attention: z.array(
      z.object({
        kind: z.enum(ATTENTION_KINDS),
        severity: z.enum(['action', 'failure']),
        count: z.number().int(),
        oldestAt: z.string().nullable(),
      }),
    ),
    /** null for support (see above). */
    series: z
      .object({
        months: z.array(z.string()),
        usage: z.array(z.object({ metric: z.string(), quantities: z.array(z.string()) })),
        invoiced: z.array(z.object({ currency: z.string(), amountsMinor: z.array(z.string()), invoiceCounts: z.array(z.number().int()) })),
      })
      .nullable(),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const now = ctx.clock.now();
    const attention = await attentionItems(ctx, now);
    const series = ctx.staff.role === 'support' ? null : await monthlySeries(ctx, input.environment, 12, now);
    return { asOf: now.toISOString(), environment: input.environment, attention, series };
  },
});
