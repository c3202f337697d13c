/** English strings of the "staff" namespace. The source of truth: zh/staff.ts must have exactly these keys. */
export default {
  title: 'Staff',
} as const;
