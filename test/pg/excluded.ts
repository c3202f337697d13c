/**
 * Test files that `npm run test:pg` does not run yet, each with the reason. The one list: when a
 * file passes on PostgreSQL, delete its line. `npm test` (SQLite) runs every file regardless.
 */
export interface Exclusion {
  file: string;
  why: string;
}

// Empty: every test file runs on PostgreSQL. (Engine-specific tests inside a file are named
// `sqlite: …` / `postgres: …` and skip themselves on the other engine.)
export const excludedOnPostgres: Exclusion[] = [];
