import { z } from 'zod';
import { appendAudit } from '../audit/index.js';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, forbidden, isDomainError, notFound, validationError } from '../errors/index.js';
import { type StaffIdentity, authenticateStaffSession, verifyStepUp } from '../staff/sessions.js';
import type { StaffRole } from '../staff/tables.js';

/**
 * The back-office command registry's contract. Every front end (CLI, Electron IPC, the browser
 * test transport) is a thin adapter over `executeCommand`; inputs and outputs are plain JSON.
 */

/** What a handler receives: the core context (inside the command's transaction) and the caller. */
export interface CommandContext extends CoreContext {
  staff: StaffIdentity;
  /** Records ids this command touched (merchants, staff, …) for the audit entry. */
  touch(...ids: string[]): void;
  /** Reports progress of a long command (the CLI prints it); a no-op where nobody listens. */
  progress(done: number, total: number): void;
}

export interface CommandDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** `area:verb`, e.g. `kyb:approve`. */
  name: string;
  summary: string;
  input: I;
  output: O;
  /** Roles allowed to run it. */
  roles: readonly StaffRole[];
  /** Needs a fresh TOTP code sent with the command (accepted once). */
  stepUp: boolean;
  /** Changes anything: then every run (ok or failed) is written to the audit log. */
  mutates: boolean;
  /**
   * Reads personal data (KYB documents): audited like a mutation although nothing changes, so
   * who looked at whose documents, and when, leaves a trace.
   */
  auditsAccess?: boolean;
  /**
   * For the CLI: input keys that may also be given as positional arguments, in order
   * (`buffmoney fx:set USD CNY 7.1234` → from, to, rate). Flags still work.
   */
  positional?: readonly string[];
  /**
   * For the CLI: an input key whose value the CLI reads from the file named by the flag
   * (`fx:import --file rates.csv` → `csv` = the file's text). Other front ends send the text.
   */
  fileInput?: { flag: string; key: string };
  /**
   * The handler commits its own work in many short transactions (a long batch job such as an
   * invoice run, which must not hold the single SQLite writer for minutes). It then runs outside
   * the command's transaction and the audit entry is written after it, on its own.
   */
  ownTransactions?: boolean;
  handler(ctx: CommandContext, input: z.output<I>): Promise<z.input<O>>;
}

/**
 * Identity function that keeps the handler's types tied to its schemas, and the command's name as
 * a literal type (the bridge in `bridge.ts` derives one typed method per name from it).
 */
export function defineCommand<const N extends string, I extends z.ZodType, O extends z.ZodType>(def: CommandDefinition<I, O> & { name: N }): CommandDefinition<I, O> & { name: N } {
  return def;
}

export type AnyCommand = CommandDefinition<z.ZodType, z.ZodType>;

/** Whether every run of the command (ok or failed) is written to the audit log. */
export const isAudited = (command: Pick<AnyCommand, 'mutates' | 'auditsAccess'>): boolean => command.mutates || command.auditsAccess === true;

export interface CommandRequest {
  /** The staff session token from login. */
  session: string | undefined;
  name: string;
  input: unknown;
  /** TOTP code for step-up commands. */
  otp?: string;
  /** Progress of a long command (done of total), for front ends that show it. */
  onProgress?: (done: number, total: number) => void;
}

export interface CommandError {
  code: string;
  message: string;
  /** The DomainError kind, so transports can map it (HTTP status, exit code). */
  kind: DomainError['kind'];
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export interface ExecuteOptions {
  /** Sees errors that are not DomainErrors (bugs) before they are reduced to `internal_error`. */
  onUnexpectedError?: (e: unknown) => void;
}

export type CommandResult<T = unknown> = { ok: true; data: T } | { ok: false; error: CommandError };

export class CommandRegistry {
  private readonly byName = new Map<string, AnyCommand>();

  constructor(commands: readonly AnyCommand[]) {
    for (const c of commands) {
      if (this.byName.has(c.name)) throw new Error(`Duplicate back-office command ${c.name}`);
      if (!/^[a-z]+(-[a-z]+)*:[a-z]+(-[a-z]+)*$/.test(c.name)) throw new Error(`Bad command name ${c.name}`);
      this.byName.set(c.name, c);
    }
  }

  get(name: string): AnyCommand | undefined {
    return this.byName.get(name);
  }

  list(): AnyCommand[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The one entry point: authenticate the session, check the role, validate the input, verify
   * step-up, run the handler and write the audit entry in one transaction, validate the output.
   * Never throws: failures come back as `{ ok: false, error }`.
   */
  async execute(ctx: CoreContext, req: CommandRequest, options: ExecuteOptions = {}): Promise<CommandResult> {
    const failure = (e: unknown) => {
      if (!isDomainError(e)) options.onUnexpectedError?.(e);
      return toCommandFailure(e);
    };
    const command = this.byName.get(req.name);
    if (!command) return toCommandFailure(notFound('command_unknown', `Unknown command ${req.name}`));

    let staff: StaffIdentity;
    try {
      staff = await authenticateStaffSession(ctx, req.session);
    } catch (e) {
      // No one to attribute an attempt to: nothing is audited for unauthenticated calls.
      return failure(e);
    }

    const touched: string[] = [];
    const audited = isAudited(command);
    let parsedInput: unknown = req.input;
    try {
      if (!command.roles.includes(staff.role)) {
        throw forbidden('role_forbidden', `${command.name} is not allowed for the ${staff.role} role (allowed: ${command.roles.join(', ')})`);
      }
      const parsed = command.input.safeParse(req.input ?? {});
      if (!parsed.success) throw validationError(parsed.error.issues);
      parsedInput = parsed.data;
      // After validation, so a typo does not burn the code.
      if (command.stepUp) await verifyStepUp(ctx, staff.id, req.otp);

      const run = async (tx: CoreContext) => {
        const cctx: CommandContext = { ...tx, staff, touch: (...ids) => touched.push(...ids), progress: (d, t) => req.onProgress?.(d, t) };
        const raw = await command.handler(cctx, parsed.data);
        const out = command.output.safeParse(raw);
        if (!out.success) {
          throw new DomainError('internal', 'output_invalid', `${command.name} produced output that does not match its schema`, {
            details: { issues: out.error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
          });
        }
        if (audited) {
          await appendAudit(tx, { actor: staff, command: command.name, input: parsed.data, outcome: { ok: true }, touched });
        }
        return out.data;
      };
      // ownTransactions: the handler's work is committed piece by piece; the audit entry follows.
      const data = command.ownTransactions ? await run(ctx) : await inTransaction(ctx, run);
      return { ok: true, data };
    } catch (e) {
      if (audited) {
        // The change rolled back; the attempt is still a fact worth keeping.
        try {
          await appendAudit(ctx, {
            actor: staff,
            command: command.name,
            input: parsedInput,
            outcome: { ok: false, code: isDomainError(e) ? e.code : 'internal_error' },
            touched,
          });
        } catch {
          // The audit write failing must not hide the original error.
        }
      }
      return failure(e);
    }
  }
}

/** Maps anything thrown to the typed error; unexpected errors never leak their internals. */
export function toCommandFailure(e: unknown): { ok: false; error: CommandError } {
  if (isDomainError(e)) {
    return {
      ok: false,
      error: {
        code: e.code,
        message: e.message,
        kind: e.kind,
        ...(e.details ? { details: e.details } : {}),
        ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
      },
    };
  }
  return { ok: false, error: { code: 'internal_error', message: 'Internal error', kind: 'internal' } };
}

/** The input fields of a command, for help screens: derived from its zod schema. */
export function describeInput(command: AnyCommand): Array<{ name: string; type: string; required: boolean; description?: string }> {
  const schema = z.toJSONSchema(command.input, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string; enum?: unknown[]; description?: string; default?: unknown; items?: { type?: string }; anyOf?: Array<{ type?: string }> }>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    // wholeNumber() accepts a number or a string of digits: say "integer"
    const anyOfNumber = p.anyOf?.some((a) => a.type === 'number' || a.type === 'integer');
    const type = p.enum ? p.enum.map(String).join('|') : p.type === 'array' ? `${p.items?.type ?? 'value'}[]` : (p.type ?? (anyOfNumber ? 'integer' : 'value'));
    const def = p.default !== undefined ? ` (default ${JSON.stringify(p.default)})` : '';
    return { name, type, required: (schema.required ?? []).includes(name), description: p.description ? p.description + def : def.trim() || undefined };
  });
}
