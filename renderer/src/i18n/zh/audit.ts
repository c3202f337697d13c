import type { Messages } from '../types';
import type en from '../en/audit';

/** Simplified Chinese for the "audit" namespace: the same keys as en/audit.ts (the typecheck insists). */
export default {
  title: 'audit',
} satisfies Messages<typeof en>;
