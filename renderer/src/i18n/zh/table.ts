import type { Messages } from '../types';
import type en from '../en/table';

/** Simplified Chinese for the "table" namespace: the same keys as en/table.ts (the typecheck insists). */
export default {
  title: 'table',
} satisfies Messages<typeof en>;
