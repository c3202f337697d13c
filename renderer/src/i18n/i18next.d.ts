import type { resources } from './index';

/** Keys are checked at compile time: t('kyb:approve') must exist in en/kyb.ts. */
declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'common';
    resources: (typeof resources)['en'];
  }
}
