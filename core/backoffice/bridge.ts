import type { z } from 'zod';
import type { BackOfficeCommandMap } from './commands/index.js';
import type { StaffRole } from '../staff/tables.js';

/**
 * The back-office bridge: the one contract between the UI (`renderer/`) and core. Electron's
 * preload and the browser twin (fetch to the loopback transport) both `satisfies` it, so the same
 * UI runs in either. Types come from the registry's zod schemas; nothing here is written twice.
 *
 * This module must stay free of runtime imports (only `import type`): the renderer bundles it.
 * Errors are data, never thrown across the boundary (Electron keeps only an Error's message).
 */

export type BackOfficeCommandName = keyof BackOfficeCommandMap;
/** What the caller sends: the schema's input side (defaults may be left out). */
export type CommandInput<N extends BackOfficeCommandName> = z.input<BackOfficeCommandMap[N]['input']>;
/** What comes back: the schema's output side. */
export type CommandOutput<N extends BackOfficeCommandName> = z.output<BackOfficeCommandMap[N]['output']>;

export interface BridgeError {
  /** Stable code, e.g. `otp_invalid`, `step_up_required`, `session_expired`. */
  code: string;
  /** For people. */
  message: string;
  kind?: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export type BridgeResult<T> = { ok: true; data: T } | { ok: false; error: BridgeError };

export interface SignInInput {
  email: string;
  password: string;
  /** A current TOTP code (2FA is mandatory). */
  otp: string;
}

/** First sign-in, step one: the password of a staff member who has not set up two-factor yet. */
export interface EnrolInput {
  email: string;
  password: string;
}

/**
 * A fresh TOTP secret for the staff member's authenticator app (core/staff/enrolment.ts): the QR
 * code carries `otpauthUri`; `secret` is for typing in by hand. Step two is `signIn` with a code.
 */
export interface Enrolment {
  email: string;
  issuer: string;
  otpauthUri: string;
  secret: string;
}

/** The signed-in staff member. The session token itself never reaches the UI. */
export interface SignedIn {
  staff: CommandOutput<'staff:me'>;
  /** Seconds of inactivity that end the session (null when restoring a session). */
  idleTimeoutSeconds: number | null;
  /** When the session ends at the latest (null when restoring a session). */
  expiresAt: string | null;
}

export interface CommandOptions {
  /** A fresh TOTP code, for step-up commands (`BRIDGE_COMMANDS[name].stepUp`). */
  otp?: string;
  /**
   * Progress of a long command (`ctx.progress` in its handler: done of total), as it runs. Each
   * transport carries it (Electron: IPC messages; the browser: a streamed answer); a callback is
   * never sent across, only the fact that one listens.
   */
  onProgress?: (done: number, total: number) => void;
}

export type BridgeCommand<N extends BackOfficeCommandName> = (input: CommandInput<N>, options?: CommandOptions) => Promise<BridgeResult<CommandOutput<N>>>;

/** One typed method per registry command, keyed by the command's name. */
export type BridgeCommands = { [N in BackOfficeCommandName]: BridgeCommand<N> };

export interface BackOfficeBridge {
  signIn(input: SignInInput): Promise<BridgeResult<SignedIn>>;
  /** First sign-in: a fresh TOTP secret (refused with `already_enrolled` once set up). */
  enrol(input: EnrolInput): Promise<BridgeResult<Enrolment>>;
  signOut(): Promise<BridgeResult<{ ended: boolean }>>;
  /** The signed-in staff member, or `session_missing`/`session_expired` (restores a reload). */
  session(): Promise<BridgeResult<SignedIn>>;
  commands: BridgeCommands;
}

export interface CommandPolicy {
  roles: readonly StaffRole[];
  stepUp: boolean;
  mutates: boolean;
}

/**
 * Every command's policy, as the registry defines it, for the UI to decide what to show and when
 * to ask for a step-up code. A `Record` over the names, so a missing or extra command fails the
 * typecheck; `bridge.test.ts` checks each entry equals the registry's. (The registry itself can't
 * be imported here: its handlers reach the database.)
 */
export const BRIDGE_COMMANDS: Readonly<Record<BackOfficeCommandName, CommandPolicy>> = {
  'kyb:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'kyb:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'kyb:export-document': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'kyb:approve': { roles: ['admin'], stepUp: true, mutates: true },
  'kyb:reject': { roles: ['admin'], stepUp: true, mutates: true },
  'kyb:request-info': { roles: ['admin'], stepUp: false, mutates: true },
  'merchants:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'merchants:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'merchants:suspend': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:reactivate': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:set-fee': { roles: ['admin'], stepUp: true, mutates: true },
  'merchants:destination-history': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'staff:me': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'staff:list': { roles: ['admin'], stepUp: false, mutates: false },
  'staff:add': { roles: ['admin'], stepUp: true, mutates: true },
  'staff:disable': { roles: ['admin'], stepUp: true, mutates: true },
  'audit:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'audit:verify': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:accounts': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:balances': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:show': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:transactions': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'ledger:verify': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'fx:set': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'fx:import': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'fx:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'invoices:generate': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'invoices:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'invoices:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'invoices:void': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'invoices:unbilled': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'reports:overview': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'payments:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'payments:exceptions': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'payments:resolve-exception': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'refunds:list': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'refunds:create': { roles: ['admin', 'finance'], stepUp: true, mutates: true },
  'refunds:retry': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'payments:reconcile': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'sandbox:pay': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:preview': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:close': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:list': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:show': { roles: ['admin', 'finance'], stepUp: false, mutates: false },
  'settlement:approve': { roles: ['admin'], stepUp: true, mutates: true },
  'settlement:reject': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:export': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'settlement:complete': { roles: ['admin', 'finance'], stepUp: false, mutates: true },
  'webhooks:endpoints': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:deliveries': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:show': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'webhooks:resend': { roles: ['admin'], stepUp: false, mutates: true },
  'chain:status': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'chain:unmatched': { roles: ['admin', 'finance', 'support'], stepUp: false, mutates: false },
  'chain:review': { roles: ['admin'], stepUp: false, mutates: true },
};

export const BRIDGE_COMMAND_NAMES = Object.keys(BRIDGE_COMMANDS) as BackOfficeCommandName[];

/** Whether a string names a bridge command (for transports that receive names from outside). */
export function isBridgeCommandName(name: string): name is BackOfficeCommandName {
  return Object.hasOwn(BRIDGE_COMMANDS, name);
}

/**
 * Builds the `commands` object from one function that sends a named command: used by the browser
 * twin and Electron's preload, so both have exactly one method per registry command.
 */
export function bridgeCommands(send: (name: BackOfficeCommandName, input: unknown, options: CommandOptions) => Promise<BridgeResult<unknown>>): BridgeCommands {
  const out: Record<string, unknown> = {};
  for (const name of BRIDGE_COMMAND_NAMES) out[name] = (input: unknown, options: CommandOptions = {}) => send(name, input ?? {}, options);
  return out as BridgeCommands;
}
