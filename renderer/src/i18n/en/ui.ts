/** English strings of the "ui" namespace. The source of truth: zh/ui.ts must have exactly these keys. */
export default {
  title: 'Shared UI parts',
} as const;
