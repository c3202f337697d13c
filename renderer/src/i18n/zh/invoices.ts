import type { Messages } from '../types';
import type en from '../en/invoices';

/** Simplified Chinese for the "invoices" namespace: the same keys as en/invoices.ts (the typecheck insists). */
export default {
  title: 'invoices',
} satisfies Messages<typeof en>;
