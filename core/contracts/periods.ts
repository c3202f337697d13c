/**
 * Billing periods, all in UTC. Pure functions: no clock, no database.
 *
 * A period is the half-open interval [start, end). Every cycle is cut into periods first and
 * then clipped to the contract's own [startsAt, endsAt):
 *
 * - monthly_calendar   — [1st of the month 00:00Z, 1st of the next month 00:00Z)
 * - quarterly_calendar — quarters starting 1 Jan, 1 Apr, 1 Jul, 1 Oct 00:00Z
 * - annual_calendar    — [1 Jan 00:00Z, next 1 Jan 00:00Z)
 * - monthly_anniversary — boundaries at startsAt + k months, keeping startsAt's day of month and
 *   time of day; a day the month lacks is clamped to that month's last day (a contract
 *   starting 31 Jan 10:00Z renews 28 Feb (29 in leap years) 10:00Z, 31 Mar 10:00Z, 30 Apr
 *   10:00Z, …). Each boundary is computed from startsAt, not from the previous boundary, so a
 *   short month never drags later periods earlier.
 *
 * A calendar contract starting mid-period gets a short first period [startsAt, next boundary);
 * one ending mid-period gets a short last period [start, endsAt). Usage pricing has no
 * proration: a short period simply holds less usage.
 */

export const BILLING_CYCLES = ['monthly_calendar', 'monthly_anniversary', 'quarterly_calendar', 'annual_calendar'] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];

export interface BillingPeriod {
  start: Date;
  end: Date;
}

export interface PeriodSchedule {
  billingCycle: BillingCycle;
  startsAt: Date;
  endsAt?: Date | null;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** `anchor` moved by `months` calendar months, its day clamped to the target month's length. */
export function addMonthsClamped(anchor: Date, months: number): Date {
  const total = anchor.getUTCFullYear() * 12 + anchor.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(Date.UTC(year, month, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}

/** The unclipped cycle period containing `instant` (for anniversary cycles, anchored on `anchor`). */
function cyclePeriod(cycle: BillingCycle, anchor: Date, instant: Date): BillingPeriod {
  const y = instant.getUTCFullYear();
  const m = instant.getUTCMonth();
  switch (cycle) {
    case 'monthly_calendar':
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
    case 'quarterly_calendar': {
      const q = m - (m % 3);
      return { start: new Date(Date.UTC(y, q, 1)), end: new Date(Date.UTC(y, q + 3, 1)) };
    }
    case 'annual_calendar':
      return { start: new Date(Date.UTC(y, 0, 1)), end: new Date(Date.UTC(y + 1, 0, 1)) };
    case 'monthly_anniversary': {
      // Estimate k from the calendar months between, then step to the right one.
      let k = (y - anchor.getUTCFullYear()) * 12 + (m - anchor.getUTCMonth());
      while (addMonthsClamped(anchor, k).getTime() > instant.getTime()) k--;
      while (addMonthsClamped(anchor, k + 1).getTime() <= instant.getTime()) k++;
      return { start: addMonthsClamped(anchor, k), end: addMonthsClamped(anchor, k + 1) };
    }
  }
}

function clip(period: BillingPeriod, schedule: PeriodSchedule): BillingPeriod {
  // biome-ignore lint/complexity/useMathMinMax: Dates, not numbers — Math.max would return a number
  const start = period.start < schedule.startsAt ? schedule.startsAt : period.start;
  const end = schedule.endsAt && schedule.endsAt < period.end ? schedule.endsAt : period.end;
  return { start: new Date(start.getTime()), end: new Date(end.getTime()) };
}

/** The contract's billing period containing `instant`, or null outside [startsAt, endsAt). */
export function periodContaining(schedule: PeriodSchedule, instant: Date): BillingPeriod | null {
  if (instant < schedule.startsAt) return null;
  if (schedule.endsAt && instant >= schedule.endsAt) return null;
  return clip(cyclePeriod(schedule.billingCycle, schedule.startsAt, instant), schedule);
}

/**
 * Every billing period of the contract that overlaps [from, to), in order. Periods are returned
 * whole (clipped only to the contract), so the first may start before `from` and the last may
 * end after `to`. `limit` guards against unbounded loops on absurd ranges.
 */
export function periodsBetween(schedule: PeriodSchedule, from: Date, to: Date, limit = 10_000): BillingPeriod[] {
  const out: BillingPeriod[] = [];
  let cursor = from < schedule.startsAt ? schedule.startsAt : from;
  const stop = schedule.endsAt && schedule.endsAt < to ? schedule.endsAt : to;
  while (cursor < stop) {
    const period = periodContaining(schedule, cursor);
    if (!period) break;
    out.push(period);
    if (out.length >= limit) throw new Error(`More than ${limit} billing periods between ${from.toISOString()} and ${to.toISOString()}`);
    cursor = period.end;
  }
  return out;
}
