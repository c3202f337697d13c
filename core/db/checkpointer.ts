import { Worker } from 'node:worker_threads';

/**
 * Moves WAL checkpoints off the commit path.
 *
 * In WAL mode SQLite copies the log back into the database file ("checkpoint") when a commit
 * finds the WAL longer than `wal_autocheckpoint` pages — inside that COMMIT, on the thread that
 * commits. Under sustained ingest that is the usage writer: every few seconds one group's
 * commit also copies ~40 MB and fsyncs the database file, and every batch waiting behind it sees
 * the pause (it was the largest source of p99 batch latency). A checkpointer thread with its own
 * connection instead runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`: a passive
 * checkpoint never takes the write lock, so commits go on while it copies.
 *
 * Connections opened with `autoCheckpoint: false` (openDatabase) keep a far larger automatic
 * threshold as a safety net, so the WAL stays bounded even if this thread stopped.
 */
export interface RunningCheckpointer {
  /** Checkpoints run so far (tests and diagnostics). */
  readonly runs: number;
  /** RESTART checkpoints that started the log over (checkpointer-thread.mjs: `restartIfLong`). */
  readonly restarts: number;
  stop(): Promise<void>;
}

export function startCheckpointer(options: {
  file: string;
  durable: boolean;
  intervalMs?: number;
  /** The thread's nice value on Linux (thread-priority.ts); default 0: unchanged. */
  nice?: number;
  /** Past this much WAL, make the log start over (a RESTART checkpoint); default 256 MB. */
  restartBytes?: number;
  /** How long a RESTART may hold new writes back waiting for the writer and readers (default 100 ms)… */
  restartWaitMs?: number;
  /** …and how long after one that could not finish the next is tried (default 5 s). */
  restartBackoffMs?: number;
  onError?: (message: string) => void;
}): RunningCheckpointer {
  const worker = new Worker(new URL('./checkpointer-thread.mjs', import.meta.url), {
    workerData: {
      file: options.file,
      durable: options.durable,
      intervalMs: options.intervalMs ?? 200,
      nice: options.nice ?? 0,
      restartBytes: options.restartBytes ?? 256 * 1024 * 1024,
      restartWaitMs: options.restartWaitMs ?? 100,
      restartBackoffMs: options.restartBackoffMs ?? 5_000,
    },
  });
  worker.unref(); // never the reason the process stays up
  let runs = 0;
  let restarts = 0;
  let stopped: Promise<void> | undefined;
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'checkpoint') runs++;
    else if (m.type === 'restart') restarts++;
    else if (m.type === 'error') options.onError?.(m.message ?? 'checkpoint failed');
  });
  worker.on('error', (e) => options.onError?.(e instanceof Error ? e.message : String(e)));
  return {
    get runs() {
      return runs;
    },
    get restarts() {
      return restarts;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.on('message', (m: { type: string }) => {
          if (m.type === 'stopped') void worker.terminate().then(done, done);
        });
        worker.postMessage('stop');
      });
      return stopped;
    },
  };
}
