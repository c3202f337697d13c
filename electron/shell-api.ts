/** `window.backOfficeShell`'s contract: one definition, shared with the renderer (core/backoffice/shell-api.ts). */
export type * from '../core/backoffice/shell-api.js';
