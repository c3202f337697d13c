/** English strings of the "table" namespace. The source of truth: zh/table.ts must have exactly these keys. */
export default {
  title: 'Table',
} as const;
