/** English strings of the "signin" namespace. The source of truth: zh/signin.ts must have exactly these keys. */
export default {
  title: 'Signin',
} as const;
