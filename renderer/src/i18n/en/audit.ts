/** English strings of the "audit" namespace. The source of truth: zh/audit.ts must have exactly these keys. */
export default {
  title: 'Audit',
} as const;
