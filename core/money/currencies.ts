/**
 * Currencies BuffMoney prices, collects or settles in, with their minor-unit exponents
 * (ISO 4217 for fiat; 6 for the USD stablecoins, as their token contracts define).
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  CNY: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  SGD: 2,
  JPY: 0,
  KRW: 0,
  USDC: 6,
  USDT: 6,
};

export const SUPPORTED_CURRENCIES = Object.keys(CURRENCY_EXPONENTS) as [string, ...string[]];
/** What a merchant may be paid out in: bank wire currencies and the two stablecoins. */
export const SETTLEMENT_CURRENCIES = SUPPORTED_CURRENCIES;

export function currencyExponent(code: string): number {
  const e = CURRENCY_EXPONENTS[code];
  if (e === undefined) throw new Error(`Unsupported currency ${code}`);
  return e;
}

export function isSupportedCurrency(code: string): boolean {
  return Object.hasOwn(CURRENCY_EXPONENTS, code);
}
