import type { Messages } from '../types';
import type en from '../en/merchants';

/** Simplified Chinese for the "merchants" namespace: the same keys as en/merchants.ts (the typecheck insists). */
export default {
  title: 'merchants',
} satisfies Messages<typeof en>;
