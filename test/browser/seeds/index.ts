import type { CoreContext } from '../../../core/context/index.js';
import type { Db } from '../../../core/db/index.js';
import { seedAdmin } from './admin.js';
import { seedChain } from './chain.js';
import { seedFinance } from './finance.js';
import { seedPayments } from './payments.js';
import { seedWebhooks } from './webhooks.js';

/** What a screen family's seed gets: the suite's context and database, and its staff (add to it to hand a test its own). */
export interface SeedInput {
  ctx: CoreContext;
  db: Db;
  staff: Record<string, { email: string; password: string; totpSecret: string }>;
  password: string;
}

export type Seed = (input: SeedInput) => Promise<void>;

/** One entry per screen family that seeds data of its own (one file each in this folder). */
export const SEEDS: Seed[] = [seedAdmin, seedFinance, seedPayments, seedWebhooks, seedChain];
