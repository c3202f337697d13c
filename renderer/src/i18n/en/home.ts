/** English strings of the "home" namespace. The source of truth: zh/home.ts must have exactly these keys. */
export default {
  title: 'Home',
} as const;
