import { describeDatabase } from '../core/db/index.js';
import { startServer } from './server.js';

const running = await startServer();
console.log(`BuffMoney server listening on ${running.url} (database ${describeDatabase(running.config.dbPath)})`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, shutting down`);
  await running.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
