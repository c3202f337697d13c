// The WAL checkpointer thread (see checkpointer.ts). Plain JavaScript: it needs nothing but
// better-sqlite3, and a worker does not inherit the parent's TypeScript loader.
import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { file, intervalMs, durable } = workerData;
const db = new BetterSqlite3(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
db.pragma('wal_autocheckpoint = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

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
