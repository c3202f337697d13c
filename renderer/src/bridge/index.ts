import type { BackOfficeBridge } from '../../../core/backoffice/bridge.js';
import { createBrowserBridge } from './browser.js';
import type { BackOfficeShell } from './shell.js';

export type * from './shell.js';

declare global {
  interface Window {
    /** Set by Electron's preload (electron/preload.ts); absent in a plain browser. */
    backOffice?: BackOfficeBridge;
    /** The desktop shell's settings (electron/preload.ts); absent in a plain browser. */
    backOfficeShell?: BackOfficeShell;
  }
}

/** Electron's preload bridge when there is one, else the browser twin: the UI cannot tell them apart. */
export const bridge: BackOfficeBridge = window.backOffice ?? createBrowserBridge();

/** The desktop shell's settings API, or null in the browser build (Settings then shows facts only). */
export const desktopShell: BackOfficeShell | null = window.backOfficeShell ?? null;
