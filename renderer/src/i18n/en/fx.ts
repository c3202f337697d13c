/** English strings of the "fx" namespace. The source of truth: zh/fx.ts must have exactly these keys. */
export default {
  title: 'Fx',
} as const;
