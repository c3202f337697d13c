import { describe, expect, it } from 'vitest';
import { formatInstant, formatMinor, formatPeriod, parseMajor } from './money.js';

describe('amounts in the back office', () => {
  it('formats minor units by the currency’s exponent, from the digits', () => {
    expect(formatMinor('123456', 'USD')).toBe('1,234.56 USD');
    expect(formatMinor('5', 'CNY')).toBe('0.05 CNY');
    expect(formatMinor('0', 'CNY')).toBe('0.00 CNY');
    expect(formatMinor('1234567', 'JPY')).toBe('1,234,567 JPY');
    expect(formatMinor('1000001', 'USDC')).toBe('1.000001 USDC');
    expect(formatMinor('-250', 'EUR')).toBe('−2.50 EUR');
    expect(formatMinor('-0', 'EUR')).toBe('0.00 EUR');
  });

  it('stays exact beyond 2^53', () => {
    expect(formatMinor('123456789012345678901', 'CNY')).toBe('1,234,567,890,123,456,789.01 CNY');
  });

  it('shows what it cannot format instead of guessing', () => {
    expect(formatMinor('12.5', 'USD')).toBe('12.5 USD (minor units)');
    expect(formatMinor('100', 'XYZ')).toBe('100 XYZ (minor units)');
  });

  it('shows a billing period as the days it covers', () => {
    expect(formatPeriod('2026-09-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z')).toBe('2026-09-01 – 2026-09-30');
    expect(formatPeriod('2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z')).toBe('2026-02-01 – 2026-02-28');
  });

  it('shows instants in UTC', () => {
    expect(formatInstant('2026-05-01T09:00:00.000Z')).toBe('2026-05-01 09:00 UTC');
    expect(formatInstant(null)).toBe('—');
  });
});

describe('quantities', () => {
  it('groups integer quantities without converting them', async () => {
    const { formatQuantity, formatBps } = await import('./money.js');
    expect(formatQuantity('18500000')).toBe('18,500,000');
    expect(formatQuantity('123456789012345678901234')).toBe('123,456,789,012,345,678,901,234');
    expect(formatBps(80)).toBe('0.80 %');
    expect(formatBps(1250)).toBe('12.50 %');
  });
});

describe('parseMajor', () => {
  it('reads typed amounts as minor units without floating point', () => {
    expect(parseMajor('200', 'CNY')).toBe('20000');
    expect(parseMajor('1,234.5', 'CNY')).toBe('123450');
    expect(parseMajor('0.01', 'CNY')).toBe('1');
    expect(parseMajor('712.34', 'CNY')).toBe('71234');
    expect(parseMajor('0', 'CNY')).toBeUndefined();
    expect(parseMajor('1.234', 'CNY')).toBeUndefined();
    expect(parseMajor('-1', 'CNY')).toBeUndefined();
    expect(parseMajor('abc', 'CNY')).toBeUndefined();
  });
});
