// The WAL checkpointer thread (see checkpointer.ts). Plain JavaScript: it needs nothing but
// better-sqlite3, and a worker does not inherit the parent's TypeScript loader.
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

const { file, intervalMs, durable, nice, restartBytes, restartWaitMs, restartBackoffMs } = workerData;
// Background work: lower this thread's priority as thread-priority.ts does (Linux only; a
// plain-JavaScript thread cannot import the TypeScript module).
if (nice > 0 && process.platform === 'linux') {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0 && tid !== process.pid) os.setPriority(tid, Math.min(19, Math.max(os.getPriority(tid), nice)));
  } catch {
    // not applied: the thread runs at the process's priority
  }
}
const db = new BetterSqlite3(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
db.pragma('wal_autocheckpoint = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
const pageSize = db.pragma('page_size', { simple: true });
let nextRestartAt = 0;

/**
 * A log that keeps growing. PASSIVE copies frames back but never starts the WAL over: only the
 * writer does, at the start of a transaction, when every frame has been copied and no reader
 * still uses one. Under continuous ingestion a new commit always lands between a checkpoint and
 * the next write, so that moment never comes and the WAL grows for as long as the load lasts
 * (to 1 GB and beyond in the 5-minute bench, where the writers' safety net then ran a checkpoint
 * inside every commit). RESTART makes the moment: it holds new writes back, copies the few frames
 * PASSIVE has not, waits for readers to leave the log, and the next write starts it over (and
 * `journal_size_limit` on the writers trims the file). Tried only past `restartBytes` of log, with
 * a short wait; a RESTART that could not finish in that time (an index slice was reading) is
 * tried again after a pause, so writes are held back at most `restartWaitMs` (100 ms) at a time,
 * `restartBackoffMs` (5 s) apart.
 */
function restartIfLong(logFrames) {
  if (logFrames * pageSize < restartBytes || Date.now() < nextRestartAt) return;
  db.pragma(`busy_timeout = ${restartWaitMs}`);
  try {
    const [r] = restart.all();
    if (r.busy) nextRestartAt = Date.now() + restartBackoffMs;
    else parentPort.postMessage({ type: 'restart', log: r.log });
  } finally {
    db.pragma('busy_timeout = 5000');
  }
}

let stopped = false;
let timer;
function tick() {
  if (stopped) return;
  try {
    // PASSIVE: copy every committed frame no reader still needs into the database file, without
    // taking the write lock — the writer keeps committing meanwhile. Once all frames are copied,
    // the writer's next transaction starts the WAL over from its beginning.
    const [r] = checkpoint.all();
    parentPort.postMessage({ type: 'checkpoint', log: r.log, checkpointed: r.checkpointed });
    restartIfLong(r.log);
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
  timer = setTimeout(tick, intervalMs);
}
timer = setTimeout(tick, intervalMs);

parentPort.on('message', (m) => {
  if (m === 'stop') {
    stopped = true;
    clearTimeout(timer);
    db.close();
    parentPort.postMessage({ type: 'stopped' });
  }
});
