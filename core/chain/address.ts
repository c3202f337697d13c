import { type Address, getAddress } from 'viem';

/**
 * EVM addresses as merchants type them (EIP-55): all-lowercase or all-uppercase hex carries no
 * checksum and is accepted as is; MIXED case is a checksum, and one that does not check out is
 * refused — a typo in a receiving address must not send settlements to nobody. The result is
 * always the EIP-55 form.
 */

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export type EvmAddressProblem = 'not_an_address' | 'bad_checksum';

/** The EIP-55 form of `input`, or why it is refused. */
export function parseEvmAddress(input: string): { ok: true; address: Address } | { ok: false; problem: EvmAddressProblem } {
  if (!HEX_ADDRESS.test(input)) return { ok: false, problem: 'not_an_address' };
  const hex = input.slice(2);
  const address = getAddress(input);
  const unchecked = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!unchecked && address !== input) return { ok: false, problem: 'bad_checksum' };
  return { ok: true, address };
}

/** The zero address: never a receiver (SubscriptionManager reverts with ZeroReceiver). */
export const isZeroAddress = (address: string): boolean => /^0x0{40}$/.test(address);
