/**
 * `npm run chain:dev`: a local EVM for trying on-chain registration on one machine. Starts a
 * Hardhat node on 127.0.0.1:8545 (`--port <n>` for another), deploys SubscriptionManager from test
 * account 0, prints the variables the server needs and a funded account to send from, and runs
 * until Ctrl-C. `--verbose` shows the node's own log (every RPC call and transaction).
 *
 * The chain starts empty on every run: re-deploy, re-set SUBSCRIPTION_MANAGER_31337 (the address
 * is the same on a fresh chain — account 0's first deployment), and re-register.
 */
import { createServer } from 'node:net';
import { getAddress, toHex } from 'viem';
import { HARDHAT_MNEMONIC, LOCAL_CHAIN_ID, deploySubscriptionManager, startLocalEvm, testAccount } from './local-evm.js';

const DEFAULT_PORT = 8545;

function parseArgs(argv: string[]): { port: number; verbose: boolean } {
  let port = DEFAULT_PORT;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--verbose') verbose = true;
    else if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      if (!/^\d{1,5}$/.test(value ?? '') || Number(value) < 1 || Number(value) > 65535) throw new Error(`--port needs a port number, got ${JSON.stringify(value)}`);
      port = Number(value);
    } else if (arg === '--help' || arg === '-h') {
      console.log('Usage: npm run chain:dev [-- --port 8545] [-- --verbose]');
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)} (try --help)`);
  }
  return { port, verbose };
}

/** Refuses a busy port: a node already listening there would answer in place of ours. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `127.0.0.1:${port} is in use (another chain:dev or node?): stop it or pass --port` : e.message)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  const { port, verbose } = parseArgs(process.argv.slice(2));
  await assertPortFree(port);
  console.log(`[chain:dev] starting a local EVM (Hardhat node, chain id ${LOCAL_CHAIN_ID}) on 127.0.0.1:${port}…`);
  const evm = await startLocalEvm({ port, inheritOutput: verbose, timeoutMs: 60_000 });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\n[chain:dev] stopping the local EVM…');
    await evm.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    const manager = getAddress(await deploySubscriptionManager(evm.rpcUrl));
    const sender = testAccount(1);
    const privateKey = toHex(sender.getHdKey().privateKey!);
    console.log(`[chain:dev] SubscriptionManager deployed at ${manager} (owner: test account 0, ${testAccount(0).address})

Set these for the server (e.g. in the shell that runs npm start):

  export CHAIN_RPC_URL_31337=${evm.rpcUrl}
  export SUBSCRIPTION_MANAGER_31337=${manager}
  export CHAIN_CONFIRMATIONS_31337=0

(CHAIN_CONFIRMATIONS_31337=0: the local node mines every transaction at once and has no finalized block to wait for.)

A funded account to send the registration from (10,000 test ETH; Hardhat's public test mnemonic
"${HARDHAT_MNEMONIC}", index 1 — never use it on a real chain):

  address:     ${sender.address}
  private key: ${privateKey}

Running until Ctrl-C. The chain lives in memory: it starts empty on every run.`);
  } catch (e) {
    console.error('[chain:dev] deployment failed:', e);
    await stop(1);
  }
}

main().catch((e: unknown) => {
  console.error(`[chain:dev] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
