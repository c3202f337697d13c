import { z } from 'zod';
import type { CoreContext } from '../context/index.js';
import { isDomainError } from '../errors/index.js';
import { enrolStaffTotp, loginStaff, logoutStaff } from '../staff/index.js';
import { type BridgeError, type BridgeResult, type Enrolment, type SignedIn, isBridgeCommandName } from './bridge.js';
import { type ExecuteOptions, backOffice, toCommandFailure } from './index.js';

/**
 * The serving side of the bridge, shared by its transports (Electron IPC in `electron/`, loopback
 * HTTP in `server/backoffice-web/`): parses each envelope with zod, signs in and out, and runs
 * commands through the registry exactly as the CLI does. Transports only carry the session token
 * (an HttpOnly cookie, or the main process's memory) and map errors to their wire.
 */

const SixDigits = z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the authenticator app');

export const SignInEnvelope = z.strictObject({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1024),
  otp: SixDigits,
});

export const EnrolEnvelope = z.strictObject({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1024),
});

export const CommandEnvelope = z.strictObject({
  input: z.record(z.string(), z.unknown()).optional(),
  otp: SixDigits.optional(),
});

export const EmptyEnvelope = z.strictObject({});

type Failure = { ok: false; error: BridgeError };

function invalid(error: z.ZodError): Failure {
  const issue = error.issues[0];
  return {
    ok: false,
    error: {
      code: 'validation_failed',
      message: `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid request'}`,
      kind: 'invalid_input',
      details: { issues: error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    },
  };
}

export interface BridgeHost {
  /** On success also the session token, for the transport to keep (never to send to the page). */
  signIn(payload: unknown): Promise<{ result: BridgeResult<SignedIn>; session?: { token: string; expiresAt: string } }>;
  signOut(token: string | undefined, payload?: unknown): Promise<BridgeResult<{ ended: boolean }>>;
  session(token: string | undefined, payload?: unknown): Promise<BridgeResult<SignedIn>>;
  /** First sign-in: a fresh TOTP secret for a staff member who has not enrolled yet. No session. */
  enrol(payload: unknown): Promise<BridgeResult<Enrolment>>;
  /** `onProgress` hears the handler's `ctx.progress(done, total)`, for transports that carry it. */
  command(token: string | undefined, name: string, payload: unknown, options?: HostCommandOptions): Promise<BridgeResult<unknown>>;
}

export interface HostCommandOptions {
  onProgress?: (done: number, total: number) => void;
}

export function createBridgeHost(ctx: CoreContext, options: ExecuteOptions = {}): BridgeHost {
  const failure = (e: unknown): Failure => {
    if (!isDomainError(e)) options.onUnexpectedError?.(e);
    return toCommandFailure(e);
  };
  return {
    async signIn(payload) {
      const parsed = SignInEnvelope.safeParse(payload);
      if (!parsed.success) return { result: invalid(parsed.error) };
      try {
        const login = await loginStaff(ctx, parsed.data);
        return {
          result: { ok: true, data: { staff: login.staff, idleTimeoutSeconds: login.idleTimeoutSeconds, expiresAt: login.expiresAt } },
          session: { token: login.session, expiresAt: login.expiresAt },
        };
      } catch (e) {
        return { result: failure(e) };
      }
    },
    async enrol(payload) {
      const parsed = EnrolEnvelope.safeParse(payload);
      if (!parsed.success) return invalid(parsed.error);
      try {
        return { ok: true, data: await enrolStaffTotp(ctx, parsed.data) };
      } catch (e) {
        return failure(e);
      }
    },
    async signOut(token, payload = {}) {
      const parsed = EmptyEnvelope.safeParse(payload);
      if (!parsed.success) return invalid(parsed.error);
      if (!token) return { ok: true, data: { ended: false } };
      try {
        return { ok: true, data: await logoutStaff(ctx, token) };
      } catch (e) {
        return failure(e);
      }
    },
    async session(token, payload = {}) {
      const parsed = EmptyEnvelope.safeParse(payload);
      if (!parsed.success) return invalid(parsed.error);
      const me = await backOffice.execute(ctx, { session: token, name: 'staff:me', input: {} }, options);
      if (!me.ok) return me;
      return { ok: true, data: { staff: me.data as SignedIn['staff'], idleTimeoutSeconds: null, expiresAt: null } };
    },
    async command(token, name, payload, commandOptions = {}) {
      if (!isBridgeCommandName(name)) return { ok: false, error: { code: 'command_unknown', message: `Unknown command ${name}`, kind: 'not_found' } };
      const parsed = CommandEnvelope.safeParse(payload);
      if (!parsed.success) return invalid(parsed.error);
      return backOffice.execute(ctx, { session: token, name, input: parsed.data.input ?? {}, otp: parsed.data.otp, onProgress: commandOptions.onProgress }, options);
    },
  };
}
