import type { Messages } from '../types';
import type en from '../en/fx';

/** Simplified Chinese for the "fx" namespace: the same keys as en/fx.ts (the typecheck insists). */
export default {
  title: 'fx',
} satisfies Messages<typeof en>;
