/**
 * Compiles `SubscriptionManager.sol` with the pinned `solc` npm package (offline; no compiler
 * download) and writes the committed artifact `SubscriptionManager.json`: ABI, creation bytecode,
 * runtime bytecode, the compiler version and a SHA-256 of the source. `npm run chain:build`
 * rebuilds it; `artifact.test.ts` fails when the committed artifact no longer matches the source,
 * so the ABI the listener decodes with is always the contract's own.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE_PATH = join(here, 'SubscriptionManager.sol');
export const ARTIFACT_PATH = join(here, 'SubscriptionManager.json');

export interface ContractArtifact {
  contractName: 'SubscriptionManager';
  compiler: string;
  settings: { optimizer: { enabled: boolean; runs: number }; evmVersion: string };
  sourceSha256: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

// Cancun: what Arbitrum One / Sepolia and hardhat 2's default hardfork all execute.
const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' };

export function compileSubscriptionManager(source = readFileSync(SOURCE_PATH, 'utf8')): ContractArtifact {
  const input = {
    language: 'Solidity',
    sources: { 'SubscriptionManager.sol': { content: source } },
    settings: { ...SETTINGS, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = output.contracts['SubscriptionManager.sol']?.SubscriptionManager;
  if (!c) throw new Error('solc produced no SubscriptionManager');
  return {
    contractName: 'SubscriptionManager',
    compiler: solc.version(),
    settings: SETTINGS,
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  };
}

export function artifactText(a: ContractArtifact): string {
  return `${JSON.stringify(a, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const artifact = compileSubscriptionManager();
  writeFileSync(ARTIFACT_PATH, artifactText(artifact));
  console.log(`wrote ${ARTIFACT_PATH} (${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes of creation code)`);
}
