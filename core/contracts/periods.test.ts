import { describe, expect, it } from 'vitest';
import { addMonthsClamped, type BillingCycle, periodContaining, periodsBetween } from './periods.js';

const d = (iso: string) => new Date(iso);
const iso = (p: { start: Date; end: Date } | null) => (p ? [p.start.toISOString(), p.end.toISOString()] : null);
const sched = (billingCycle: BillingCycle, startsAt: string, endsAt?: string) => ({ billingCycle, startsAt: d(startsAt), endsAt: endsAt ? d(endsAt) : null });

describe('monthly_calendar periods', () => {
  const s = sched('monthly_calendar', '2026-01-01T00:00:00Z');

  it('runs from the 1st 00:00Z to the next 1st, boundaries in UTC', () => {
    expect(iso(periodContaining(s, d('2026-05-25T10:00:00Z')))).toEqual(['2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z']);
    // 23:59:59.999Z on the last day is still May; 00:00Z on the 1st is June
    expect(iso(periodContaining(s, d('2026-05-31T23:59:59.999Z')))![0]).toBe('2026-05-01T00:00:00.000Z');
    expect(iso(periodContaining(s, d('2026-06-01T00:00:00Z')))![0]).toBe('2026-06-01T00:00:00.000Z');
    // an instant given in +08:00 that is still May in UTC
    expect(iso(periodContaining(s, d('2026-06-01T07:59:59+08:00')))![0]).toBe('2026-05-01T00:00:00.000Z');
  });

  it('handles February in leap and common years and the year change', () => {
    expect(iso(periodContaining(s, d('2028-02-29T12:00:00Z')))).toEqual(['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    expect(iso(periodContaining(s, d('2026-12-31T23:00:00Z')))).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
  });

  it('gives a short first period for a mid-month start and a short last period for a mid-month end', () => {
    const mid = sched('monthly_calendar', '2026-01-15T09:30:00Z', '2026-03-10T00:00:00Z');
    expect(periodsBetween(mid, d('2025-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z')).map(iso)).toEqual([
      ['2026-01-15T09:30:00.000Z', '2026-02-01T00:00:00.000Z'],
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['2026-03-01T00:00:00.000Z', '2026-03-10T00:00:00.000Z'],
    ]);
  });

  it('has no period before the start or from the end on', () => {
    const mid = sched('monthly_calendar', '2026-01-15T00:00:00Z', '2026-03-10T00:00:00Z');
    expect(periodContaining(mid, d('2026-01-14T23:59:59Z'))).toBeNull();
    expect(periodContaining(mid, d('2026-03-10T00:00:00Z'))).toBeNull();
  });
});

describe('quarterly_calendar and annual_calendar periods', () => {
  it('cuts quarters at 1 Jan, 1 Apr, 1 Jul, 1 Oct', () => {
    const s = sched('quarterly_calendar', '2026-02-10T00:00:00Z');
    expect(periodsBetween(s, d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z')).map(iso)).toEqual([
      ['2026-02-10T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
      ['2026-07-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z'],
      ['2026-10-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ]);
  });

  it('cuts years at 1 Jan 00:00Z', () => {
    const s = sched('annual_calendar', '2024-01-01T00:00:00Z');
    expect(iso(periodContaining(s, d('2024-12-31T23:59:59.999Z')))).toEqual(['2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
    expect(iso(periodContaining(s, d('2025-01-01T00:00:00Z')))).toEqual(['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });
});

describe('monthly_anniversary periods', () => {
  it('keeps the start day and time of day', () => {
    const s = sched('monthly_anniversary', '2026-01-15T10:00:00Z');
    expect(iso(periodContaining(s, d('2026-03-15T09:59:59Z')))).toEqual(['2026-02-15T10:00:00.000Z', '2026-03-15T10:00:00.000Z']);
    expect(iso(periodContaining(s, d('2026-03-15T10:00:00Z')))).toEqual(['2026-03-15T10:00:00.000Z', '2026-04-15T10:00:00.000Z']);
  });

  it('clamps the 31st to the end of shorter months without drifting afterwards', () => {
    const s = sched('monthly_anniversary', '2026-01-31T00:00:00Z');
    expect(periodsBetween(s, d('2026-01-31T00:00:00Z'), d('2026-06-01T00:00:00Z')).map((p) => p.start.toISOString().slice(0, 10))).toEqual([
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2026-05-31',
    ]);
  });

  it('uses 29 February in leap years', () => {
    const s = sched('monthly_anniversary', '2028-01-31T12:00:00Z');
    expect(iso(periodContaining(s, d('2028-03-01T00:00:00Z')))).toEqual(['2028-02-29T12:00:00.000Z', '2028-03-31T12:00:00.000Z']);
    expect(addMonthsClamped(d('2028-02-29T00:00:00Z'), 12).toISOString()).toBe('2029-02-28T00:00:00.000Z');
    expect(addMonthsClamped(d('2028-02-29T00:00:00Z'), 48).toISOString()).toBe('2032-02-29T00:00:00.000Z');
  });

  it('tiles time without gaps or overlaps across years', () => {
    const s = sched('monthly_anniversary', '2025-08-31T23:30:00Z');
    const periods = periodsBetween(s, d('2025-01-01T00:00:00Z'), d('2029-01-01T00:00:00Z'));
    expect(periods[0].start.toISOString()).toBe('2025-08-31T23:30:00.000Z');
    for (let i = 1; i < periods.length; i++) expect(periods[i].start.getTime()).toBe(periods[i - 1].end.getTime());
    expect(periods.length).toBe(41);
  });
});

describe('periodsBetween', () => {
  it('returns whole periods overlapping the window, clipped only to the contract', () => {
    const s = sched('monthly_calendar', '2026-01-01T00:00:00Z');
    expect(periodsBetween(s, d('2026-02-10T00:00:00Z'), d('2026-03-02T00:00:00Z')).map(iso)).toEqual([
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ]);
    expect(periodsBetween(s, d('2026-03-01T00:00:00Z'), d('2026-03-01T00:00:00Z'))).toEqual([]);
  });
});
