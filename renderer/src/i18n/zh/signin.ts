import type { Messages } from '../types';
import type en from '../en/signin';

/** Simplified Chinese for the "signin" namespace: the same keys as en/signin.ts (the typecheck insists). */
export default {
  title: 'signin',
} satisfies Messages<typeof en>;
