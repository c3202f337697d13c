/** English strings of the "kyb" namespace. The source of truth: zh/kyb.ts must have exactly these keys. */
export default {
  title: 'Kyb',
} as const;
