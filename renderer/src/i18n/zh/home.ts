import type { Messages } from '../types';
import type en from '../en/home';

/** Simplified Chinese for the "home" namespace: the same keys as en/home.ts (the typecheck insists). */
export default {
  title: 'home',
} satisfies Messages<typeof en>;
