/**
 * A real local EVM for development and tests: Hardhat 2's JSON-RPC node (EDR underneath) as a
 * child process on 127.0.0.1, plus deployment of the committed SubscriptionManager artifact with
 * viem. Used by `npm run chain:dev` and by every chain test — nothing here is a mock.
 *
 * A child process rather than in-process: Hardhat 2 wants to be the program it runs in (its
 * runtime environment is a process-wide singleton), and a separate process is what a developer
 * runs anyway. Start-up takes about two seconds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http, type Abi, type Address, type Hex, createPublicClient, createWalletClient, defineChain } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import type { ContractArtifact } from './build.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

export const LOCAL_CHAIN_ID = 31337;
/** Hardhat's published test mnemonic: its accounts are funded with 10,000 ETH on every start. */
export const HARDHAT_MNEMONIC = 'test test test test test test test test test test test junk';

export const localChain = defineChain({
  id: LOCAL_CHAIN_ID,
  name: 'Local (Hardhat)',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
});

/** The committed ABI and bytecode (server/chain/SubscriptionManager.json). */
export function subscriptionManagerArtifact(): ContractArtifact {
  return JSON.parse(readFileSync(join(here, 'SubscriptionManager.json'), 'utf8')) as ContractArtifact;
}

/** The i-th funded test account (0 deploys; use others as merchant wallets). */
export function testAccount(index: number) {
  return mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index });
}

export interface LocalEvm {
  rpcUrl: string;
  port: number;
  chainId: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts `hardhat node` on 127.0.0.1 (port 0 = a free one) and waits until it answers JSON-RPC. */
export async function startLocalEvm(opts: { port?: number; timeoutMs?: number; inheritOutput?: boolean } = {}): Promise<LocalEvm> {
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const cli = join(root, 'node_modules', 'hardhat', 'internal', 'cli', 'cli.js');
  const child: ChildProcess = spawn(process.execPath, [cli, 'node', '--config', join(here, 'hardhat.config.cjs'), '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: root,
    stdio: opts.inheritOutput ? 'inherit' : ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await rpcAnswers(rpcUrl))) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`hardhat node did not answer on ${rpcUrl}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    rpcUrl,
    port,
    chainId: LOCAL_CHAIN_ID,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Deploys SubscriptionManager from test account 0 (its owner) and returns the address. */
export async function deploySubscriptionManager(rpcUrl: string, deployerIndex = 0): Promise<Address> {
  const artifact = subscriptionManagerArtifact();
  const chain = { ...localChain, rpcUrls: { default: { http: [rpcUrl] } } };
  const wallet = createWalletClient({ account: testAccount(deployerIndex), chain, transport: http(rpcUrl) });
  const client = createPublicClient({ chain, transport: http(rpcUrl) });
  const hash = await wallet.deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode as Hex });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (!receipt.contractAddress) throw new Error('deployment produced no contract address');
  return receipt.contractAddress;
}
