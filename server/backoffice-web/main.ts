import { describeDatabase } from '../../core/db/index.js';
import path from 'node:path';
import { startServer } from '../server.js';
import { startBackOfficeWeb } from './app.js';

/**
 * `npm start` where Electron is not installed: the companion server (as `npm run server`) and, on
 * the same core context and database, the back office's browser build on loopback.
 */
const running = await startServer();
const port = process.env.BUFFMONEY_BACKOFFICE_PORT !== undefined ? Number(process.env.BUFFMONEY_BACKOFFICE_PORT) : running.port + 1;
const web = await startBackOfficeWeb({
  ctx: running.ctx,
  port,
  staticDir: path.resolve(import.meta.dirname, '../../dist/renderer'),
  onUnexpectedError: (e) => console.error('[buffmoney] back office error:', e),
});
console.log(`BuffMoney server listening on ${running.url} (database ${describeDatabase(running.config.dbPath)})`);
console.log(`Back office: ${web.url} (this computer only; sign in as staff, see "Desktop back office" in the README)`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, shutting down`);
  await web.close();
  await running.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
