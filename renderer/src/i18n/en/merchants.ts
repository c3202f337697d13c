/** English strings of the "merchants" namespace. The source of truth: zh/merchants.ts must have exactly these keys. */
export default {
  title: 'Merchants',
} as const;
