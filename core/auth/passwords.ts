import bcrypt from 'bcrypt';

/** bcrypt in libuv's thread pool (never blocks the event loop). Cost comes from the context: 12. */
export async function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/**
 * A hash of a random password, compared against when no account matches the email, so a
 * failed login costs the same time whether or not the account exists (no user enumeration).
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(cost: number): Promise<string> {
  dummyHash ??= bcrypt.hash(`no-such-account-${Math.random()}`, cost);
  return dummyHash;
}

export const PASSWORD_MIN_LENGTH = 8;
/** bcrypt reads only the first 72 bytes; refusing longer inputs avoids a silent truncation. */
export const PASSWORD_MAX_BYTES = 72;
