/** English strings of the "ledger" namespace. The source of truth: zh/ledger.ts must have exactly these keys. */
export default {
  title: 'Ledger',
} as const;
