/** English strings of the "settings" namespace. The source of truth: zh/settings.ts must have exactly these keys. */
export default {
  title: 'Settings',
} as const;
