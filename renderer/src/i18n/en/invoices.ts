/** English strings of the "invoices" namespace. The source of truth: zh/invoices.ts must have exactly these keys. */
export default {
  title: 'Invoices',
} as const;
