import { describe, expect, it } from 'vitest';
import { isZeroAddress, parseEvmAddress } from './address.js';

// EIP-55's own test vectors ("Test Cases": all caps, all lower, normal).
const EIP55_VECTORS = [
  '0x52908400098527886E0F7030069857D2E4169EE7',
  '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
  '0xde709f2102306220921060314715629080e2fb77',
  '0x27b1fdb04752bbc536007a920d24acb045561c26',
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];

describe('EVM addresses (EIP-55)', () => {
  it.each(EIP55_VECTORS)('%s is its own checksum form, and so is its all-lower and all-upper spelling', (vector) => {
    expect(parseEvmAddress(vector)).toEqual({ ok: true, address: vector });
    const hex = vector.slice(2);
    expect(parseEvmAddress(`0x${hex.toLowerCase()}`)).toEqual({ ok: true, address: vector });
    expect(parseEvmAddress(`0x${hex.toUpperCase()}`)).toEqual({ ok: true, address: vector });
  });

  it('refuses mixed case with a wrong checksum (one letter flipped)', () => {
    expect(parseEvmAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')).toEqual({ ok: false, problem: 'bad_checksum' });
    expect(parseEvmAddress('0xFb6916095ca1df60bB79Ce92cE3Ea74c37c5d359')).toEqual({ ok: false, problem: 'bad_checksum' });
  });

  it('refuses what is not 0x and 40 hex digits', () => {
    for (const bad of [
      '',
      '0x',
      '5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      '0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED',
      '0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea',
      '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd',
      '0xg aeb6053f3e94c9b9a09f33669435e7ef1beae',
      ' 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    ]) {
      expect(parseEvmAddress(bad), bad).toEqual({ ok: false, problem: 'not_an_address' });
    }
  });

  it('knows the zero address in any case', () => {
    expect(isZeroAddress('0x0000000000000000000000000000000000000000')).toBe(true);
    expect(isZeroAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toBe(false);
  });
});
