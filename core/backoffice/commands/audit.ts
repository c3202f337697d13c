import { z } from 'zod';
import { listAudit, verifyAuditChain } from '../../audit/index.js';
import { DomainError } from '../../errors/index.js';
import { defineCommand } from '../registry.js';
import { Instant, Limit, wholeNumber } from './shared.js';

/**
 * The audit log, for admins and finance (auditors work with finance). Support does not read it:
 * it records what every staff member did, which is not a support concern.
 */

const Entry = z.object({
  seq: z.number(),
  id: z.string(),
  at: z.string(),
  actor: z.object({ staffId: z.string().nullable(), email: z.string().nullable() }),
  command: z.string(),
  input: z.unknown(),
  outcome: z.enum(['ok', 'error']),
  errorCode: z.string().nullable(),
  touched: z.array(z.string()),
  prevHash: z.string(),
  hash: z.string(),
});

export const auditList = defineCommand({
  name: 'audit:list',
  summary: 'Audit entries, newest first',
  input: z.object({
    limit: Limit,
    beforeSeq: wholeNumber(1, Number.MAX_SAFE_INTEGER).optional().meta({ description: 'Only entries older than this seq (paging)' }),
    command: z.string().trim().min(1).optional().meta({ description: 'Only this command, e.g. kyb:approve' }),
    actor: z.string().trim().min(1).optional().meta({ description: 'Only this staff email' }),
    touching: z
      .string()
      .regex(/^[a-z]+_[0-9a-z]+$/, 'must be an id')
      .optional()
      .meta({ description: 'Only entries that touched this id' }),
    outcome: z.enum(['ok', 'error']).optional().meta({ description: 'Only commands that succeeded (ok) or were refused (error)' }),
    from: Instant.optional().meta({ description: 'Only entries at or after this instant (ISO-8601)' }),
    to: Instant.optional().meta({ description: 'Only entries before this instant (ISO-8601)' }),
  }),
  output: z.object({ items: z.array(Entry) }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  handler: async (ctx, input) => ({
    items: await listAudit(ctx, {
      limit: input.limit,
      beforeSeq: input.beforeSeq,
      command: input.command,
      actorEmail: input.actor,
      touching: input.touching,
      outcome: input.outcome,
      from: input.from,
      to: input.to,
    }),
  }),
});

export const auditVerify = defineCommand({
  name: 'audit:verify',
  summary: 'Recompute the hash chain; fails naming the first broken entry',
  input: z.object({}),
  output: z.object({ intact: z.literal(true), entries: z.number(), headHash: z.string() }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: false,
  async handler(ctx) {
    const result = await verifyAuditChain(ctx);
    if (!result.ok) {
      const b = result.firstBroken;
      throw new DomainError('conflict', 'audit_chain_broken', `Audit chain broken at entry seq ${b.seq} (${b.id}): ${b.reason}`, {
        details: { firstBroken: b, verifiedEntries: result.entries },
      });
    }
    return { intact: true as const, entries: result.entries, headHash: result.headHash };
  },
});
