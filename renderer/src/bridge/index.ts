import type { BackOfficeBridge } from '../../../core/backoffice/bridge.js';
import { createBrowserBridge } from './browser.js';

declare global {
  interface Window {
    /** Set by Electron's preload (electron/preload.ts); absent in a plain browser. */
    backOffice?: BackOfficeBridge;
  }
}

/** Electron's preload bridge when there is one, else the browser twin: the UI cannot tell them apart. */
export const bridge: BackOfficeBridge = window.backOffice ?? createBrowserBridge();
