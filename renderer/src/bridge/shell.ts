/** `window.backOfficeShell` (electron/preload.ts): one definition, shared with the preload (core/backoffice/shell-api.ts). */
export type * from '../../../core/backoffice/shell-api.js';
