import type { Messages } from '../types';
import type en from '../en/ui';

/** Simplified Chinese for the "ui" namespace: the same keys as en/ui.ts (the typecheck insists). */
export default {
  title: 'table',
} satisfies Messages<typeof en>;
