import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ARTIFACT_PATH, artifactText, compileSubscriptionManager } from './build.js';

describe('SubscriptionManager artifact', () => {
  it('the committed ABI and bytecode are what the committed source compiles to (run `npm run chain:build` after editing the contract)', () => {
    expect(readFileSync(ARTIFACT_PATH, 'utf8')).toBe(artifactText(compileSubscriptionManager()));
  }, 120_000);

  it('declares the events the listener decodes, with the issue’s exact signatures', () => {
    const artifact = JSON.parse(readFileSync(ARTIFACT_PATH, 'utf8')) as {
      abi: Array<{ type: string; name?: string; inputs?: Array<{ name: string; type: string; indexed?: boolean }> }>;
    };
    const sig = (name: string) => {
      const e = artifact.abi.find((x) => x.type === 'event' && x.name === name);
      return e?.inputs?.map((i) => `${i.indexed ? 'indexed ' : ''}${i.type} ${i.name}`).join(', ');
    };
    expect(sig('MerchantRegistered')).toBe('indexed uint256 merchantId, indexed address admin, address receiver, bytes32 metadataHash');
    expect(sig('MerchantActiveChanged')).toBe('indexed uint256 merchantId, bool active');
    expect(sig('ReceiverUpdated')).toBe('indexed uint256 merchantId, address receiver');
  });
});
