import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Lowers the CPU priority of the calling worker thread to `nice` (Linux nice values, 1–19;
 * 0 or less leaves it alone). Returns whether it was applied.
 *
 * Why: on a small machine the server's threads compete for the same cores. Ingestion (the HTTP
 * thread and the usage writer) answers merchants who wait on every batch; the usage reader and
 * the WAL checkpointer do work that may wait a few milliseconds without anyone noticing.
 * With the background threads niced, the kernel's scheduler gives the ingest path the CPU
 * first whenever both want it — "reads that do not stall ingestion" (bench:ingest's mixed run) —
 * and the background threads still get every idle cycle, so they finish their work, just later.
 *
 * Linux gives each thread its own nice value (setpriority(PRIO_PROCESS, tid), see
 * setpriority(2) "Bugs"), and raising one's own nice value needs no privilege. On other systems
 * (the desktop app on macOS or Windows) this does nothing: one user's back office does not run a
 * merchant's ingest at full speed.
 */
export function lowerThreadPriority(nice: number): boolean {
  if (!(nice > 0) || process.platform !== 'linux') return false;
  try {
    // In a worker, /proc/thread-self links to /proc/<pid>/task/<tid>: this thread's own id.
    const tid = Number(path.basename(fs.readlinkSync('/proc/thread-self')));
    if (!Number.isInteger(tid) || tid <= 0 || tid === process.pid) return false; // never the main thread
    os.setPriority(tid, Math.min(19, Math.max(os.getPriority(tid), Math.floor(nice))));
    return true;
  } catch {
    return false;
  }
}
