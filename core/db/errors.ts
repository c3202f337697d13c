/**
 * The one test for a unique-index violation, on either engine, by the driver's error code —
 * never by message text, which differs between engines, versions and locales
 * (better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / SQLITE_CONSTRAINT_PRIMARYKEY; node-postgres:
 * SQLSTATE 23505). Callers check first inside their transaction and use this only to turn a
 * lost race into the same 409 instead of a 500.
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
