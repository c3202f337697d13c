import { randomBytes } from 'node:crypto';
import { totpCode } from '../../auth/totp.js';
import { type CoreContext, ManualClock, createContext } from '../../context/index.js';
import { type Db, openDatabase } from '../../db/index.js';
import { migrateToLatest } from '../../db/migrate.js';
import { createStaff, loginStaff } from '../../staff/index.js';
import { type TestDatabase, createTestDatabase } from '../../testing/database.js';
import type { StaffRole } from '../../staff/tables.js';
import { executeCommand } from '../index.js';
import type { CommandResult } from '../registry.js';

/**
 * Test support for the back office (tests only): a fresh database (core/testing/database.ts), a manual
 * clock (TOTP codes and idle timeouts are deterministic), and signed-in staff members.
 */
export interface Harness {
  ctx: CoreContext;
  clock: ManualClock;
  db: Db;
  dbFile: string;
  /** Creates and signs in a staff member of the role. */
  staff(role: StaffRole, email?: string): Promise<TestStaff>;
  run(who: TestStaff | string | undefined, name: string, input?: unknown, otp?: string): Promise<CommandResult<any>>;
  close(): Promise<void>;
}

export interface TestStaff {
  id: string;
  email: string;
  role: StaffRole;
  password: string;
  totpSecret: string;
  session: string;
  /** A code from the next TOTP step (moves the clock 30 s): fresh, never used before. */
  nextOtp(): string;
}

let counter = 0;

export async function openHarness(options: { clock?: ManualClock; ctx?: CoreContext } = {}): Promise<Harness> {
  let database: TestDatabase | undefined;
  let db: Db;
  let ctx: CoreContext;
  let dbFile = '';
  const clock = options.clock ?? new ManualClock('2026-05-01T09:00:00.000Z');
  if (options.ctx) {
    ctx = options.ctx;
    db = ctx.db;
  } else {
    database = await createTestDatabase('buffmoney-backoffice-');
    dbFile = database.url;
    db = openDatabase(dbFile, { durable: false });
    if (!database.migrated) await migrateToLatest(db);
    // bcrypt cost 4 keeps the suite fast; production's 12 is checked through the CLI.
    ctx = createContext({ db, clock, bcryptCost: 4, secrets: { jwtSecret: randomBytes(32), dataKey: randomBytes(32) } });
  }
  const harness: Harness = {
    ctx,
    clock,
    db,
    dbFile,
    async staff(role, email) {
      counter++;
      const password = `pass-${counter}-correct-horse`;
      const created = await createStaff(ctx, { email: email ?? `${role}${counter}@buffmoney.test`, role, password }, null);
      const secret = created.totpSecret;
      clock.advance(30_000);
      const login = await loginStaff(ctx, { email: created.staff.email, password, otp: totpCode(secret, clock.now()) });
      return {
        id: created.staff.id,
        email: created.staff.email,
        role,
        password,
        totpSecret: secret,
        session: login.session,
        nextOtp() {
          clock.advance(30_000);
          return totpCode(secret, clock.now());
        },
      };
    },
    run(who, name, input = {}, otp) {
      const session = typeof who === 'string' || who === undefined ? who : who.session;
      return executeCommand(ctx, { session, name, input, otp });
    },
    async close() {
      if (!options.ctx) await db.close();
      await database?.cleanup();
    },
  };
  return harness;
}

/** Bytes that pass KYB's content sniffing. */
export const PDF_BYTES = Buffer.from('%PDF-1.4\n% test document\n');
