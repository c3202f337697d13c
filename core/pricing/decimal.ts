import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The decimal type money arithmetic uses: a private clone of decimal.js (never the global
 * config, which other code may rely on). Rating only adds and multiplies finite decimals, which
 * is exact as long as results fit in PRECISION significant digits; `exact()` checks that, so a
 * result is either exact or an error — never silently rounded.
 */
export const PRECISION = 1000;

export const Dec = DecimalJs.clone({ precision: PRECISION, rounding: DecimalJs.ROUND_HALF_UP, toExpNeg: -9e15, toExpPos: 9e15 });
export type Dec = InstanceType<typeof Dec>;

export function exact(d: Dec): Dec {
  if (d.sd() >= PRECISION) throw new Error(`Amount exceeds ${PRECISION} significant digits; refusing to round silently`);
  return d;
}

/** Half-up to a whole number of minor units (half away from zero; amounts are never negative). */
export function roundHalfUpToInteger(d: Dec): string {
  return d.toDecimalPlaces(0, DecimalJs.ROUND_HALF_UP).toFixed(0);
}

/** A plain decimal string without exponent or trailing zeros: "1.875", "450", "0". */
export function plain(d: Dec): string {
  return d.toFixed();
}
