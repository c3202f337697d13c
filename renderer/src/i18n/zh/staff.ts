import type { Messages } from '../types';
import type en from '../en/staff';

/** Simplified Chinese for the "staff" namespace: the same keys as en/staff.ts (the typecheck insists). */
export default {
  title: 'staff',
} satisfies Messages<typeof en>;
