import { describe, expect, it } from 'vitest';
import { fenToYuan, fromShanghaiTime, toShanghaiTime, yuanToFen } from './amounts.js';

describe('fen ↔ yuan', () => {
  it('writes exactly two decimals', () => {
    expect(fenToYuan(0n)).toBe('0.00');
    expect(fenToYuan(1n)).toBe('0.01');
    expect(fenToYuan(10n)).toBe('0.10');
    expect(fenToYuan(100n)).toBe('1.00');
    expect(fenToYuan(10_000_000_099n)).toBe('100000000.99');
  });

  it('keeps values far beyond Number.MAX_SAFE_INTEGER exact (no float ever touches them)', () => {
    const huge = 123_456_789_012_345_678_901n;
    expect(fenToYuan(huge)).toBe('1234567890123456789.01');
    expect(yuanToFen('1234567890123456789.01')).toBe(huge);
    // 0.1 + 0.2 territory: every cent value round-trips.
    for (let fen = 0n; fen < 1000n; fen++) expect(yuanToFen(fenToYuan(fen))).toBe(fen);
  });

  it('refuses a negative amount', () => {
    expect(() => fenToYuan(-1n)).toThrow(RangeError);
  });

  it('reads yuan with zero, one or two decimals', () => {
    expect(yuanToFen('0.01')).toBe(1n);
    expect(yuanToFen('1')).toBe(100n);
    expect(yuanToFen('1.5')).toBe(150n);
    expect(yuanToFen('100000000.99')).toBe(10_000_000_099n);
    expect(yuanToFen('0')).toBe(0n);
  });

  it('rejects anything that is not plain yuan with at most two decimals', () => {
    for (const bad of ['0.001', '1.234', '-1.00', '+1.00', '1e2', '1.', '.5', '', ' 1.00', '1,00', '01.00', 'NaN', 'Infinity', '0x10', '１.00']) {
      expect(yuanToFen(bad), bad).toBeNull();
    }
  });
});

describe('Beijing time', () => {
  it('prints a UTC instant on Beijing wall clocks (UTC+8, no daylight saving)', () => {
    expect(toShanghaiTime(new Date('2026-12-01T09:30:05.999Z'))).toBe('2026-12-01 17:30:05');
    expect(toShanghaiTime(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01-01 00:00:00');
    expect(toShanghaiTime(new Date('2026-07-01T00:00:00Z'))).toBe('2026-07-01 08:00:00');
  });

  it('reads Beijing time back as ISO UTC', () => {
    expect(fromShanghaiTime('2027-01-01 00:00:00')).toBe('2026-12-31T16:00:00.000Z');
    expect(fromShanghaiTime('2026-12-01 17:30:05')).toBe('2026-12-01T09:30:05.000Z');
  });

  it('refuses what is not a real time', () => {
    for (const bad of ['2026-02-30 10:00:00', '2026-12-01T10:00:00', '2026-12-01 24:00:00', '2026-12-01 10:00', '']) expect(fromShanghaiTime(bad), bad).toBeNull();
  });
});
