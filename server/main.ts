import { describeDatabase } from '../core/db/index.js';
import { startServer } from './server.js';

const running = await startServer();
console.log(`BuffMoney server listening on ${running.url} (database ${describeDatabase(running.config.dbPath)})`);
const { configured } = running.payments;
const yesNo = (on: boolean) => (on ? 'configured' : 'not configured');
console.log(
  `Payment channels: live WeChat Pay ${yesNo(configured.live.wechat)}, live Alipay ${yesNo(configured.live.alipay)}, sandbox ${running.sandboxPeers ? 'on' : 'off'}; callbacks at ${running.payments.notifyUrl('wechat')} and ${running.payments.notifyUrl('alipay')}`,
);

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
