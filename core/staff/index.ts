/** Back-office staff: accounts with mandatory TOTP, roles, sessions, lockout and step-up. */
export * from './accounts.js';
export * from './enrolment.js';
export * from './sessions.js';
export type * from './tables.js';
