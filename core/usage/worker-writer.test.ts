import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../context/index.js';
import { DomainError } from '../errors/index.js';
import { createThreadedUsageEventWriter } from './worker-writer.js';
import { onPostgres } from '../testing/database.js';

// The writer thread exists only for an embedded SQLite file.
describe.skipIf(onPostgres)('sqlite: threaded usage writer supervision', () => {
  it('fails requests fast while the thread is down, and backs off when it dies at once', async () => {
    // A database "inside" a regular file: every thread dies while opening it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-writer-'));
    fs.writeFileSync(path.join(dir, 'not-a-folder'), '');
    const dbPath = path.join(dir, 'not-a-folder', 'x.db');
    const deaths: string[] = [];
    const writer = createThreadedUsageEventWriter({
      dbPath,
      durable: false,
      clock: systemClock,
      restartBackoff: { initialMs: 400, maxMs: 1_600 },
      onThreadDeath: (reason) => deaths.push(reason),
    });
    try {
      while (deaths.length === 0) await new Promise((r) => setTimeout(r, 10));
      const health = writer.health();
      expect(health.alive).toBe(false);
      expect(health.lastError).toMatch(/EEXIST|ENOTDIR|not a directory/i);

      // Nothing is left waiting on a dead thread: a request is refused at once, as 503 material.
      const started = performance.now();
      const error = await writer.unindexedCount().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(50);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ kind: 'unavailable', code: 'ingest_unavailable' });
      expect((error as DomainError).retryAfterSeconds).toBeGreaterThanOrEqual(1);

      // Delays 400, 800, 1600, 1600 … ms: in 3 s at most 3 restarts (each thread also needs
      // time to start and die), not hundreds.
      await new Promise((r) => setTimeout(r, 3_000));
      const { restarts } = writer.health();
      expect(restarts).toBeGreaterThanOrEqual(1);
      expect(restarts).toBeLessThanOrEqual(3);
    } finally {
      await writer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const after = writer.health().restarts;
    await new Promise((r) => setTimeout(r, 1_700));
    expect(writer.health().restarts).toBe(after); // closed: no more restarts
  });
});
