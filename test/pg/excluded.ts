/**
 * Test files that `npm run test:pg` does not run yet, each with the reason. The one list: when a
 * file passes on PostgreSQL, delete its line. `npm test` (SQLite) runs every file regardless.
 */
export interface Exclusion {
  file: string;
  why: string;
}

export const excludedOnPostgres: Exclusion[] = [
  {
    // The test drives the scheduler with fake timers and expects a whole invoice run to finish
    // within the microtask turns of advanceTimersByTimeAsync — true of SQLite's synchronous
    // driver, not of a run that waits on the network. Needs a "run finished" signal from the
    // scheduler (or real timers); the scheduler itself is exercised on PostgreSQL by the server tests.
    file: 'server/workers/invoice-scheduler.test.ts',
    why: 'fake timers assume a synchronous driver',
  },
];
