import type { Messages } from '../types';
import type en from '../en/settings';

/** Simplified Chinese for the "settings" namespace: the same keys as en/settings.ts (the typecheck insists). */
export default {
  title: 'settings',
} satisfies Messages<typeof en>;
