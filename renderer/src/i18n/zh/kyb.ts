import type { Messages } from '../types';
import type en from '../en/kyb';

/** Simplified Chinese for the "kyb" namespace: the same keys as en/kyb.ts (the typecheck insists). */
export default {
  title: 'kyb',
} satisfies Messages<typeof en>;
