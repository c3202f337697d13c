import type { Messages } from '../types';
import type en from '../en/ledger';

/** Simplified Chinese for the "ledger" namespace: the same keys as en/ledger.ts (the typecheck insists). */
export default {
  title: 'ledger',
} satisfies Messages<typeof en>;
