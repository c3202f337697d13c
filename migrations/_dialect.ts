import type { Kysely } from 'kysely';

/**
 * Dialect facts migrations need. Lives beside the migrations (never imports app code) so each
 * migration stays frozen in time.
 */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name.toLowerCase().includes('postgres');
}

export function blobType(db: Kysely<any>): 'blob' | 'bytea' {
  return isPostgres(db) ? 'bytea' : 'blob';
}
