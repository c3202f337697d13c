import { contextBridge, ipcRenderer } from 'electron';
import { type BackOfficeBridge, type BridgeResult, type SignedIn, bridgeCommands } from '../core/backoffice/bridge.js';
import { BRIDGE_CHANNEL_PREFIX, SESSION_CHANNEL, SIGN_IN_CHANNEL, SIGN_OUT_CHANNEL } from './channels.js';

/**
 * Exposes the bridge to the renderer as `window.backOffice`: one function per registry command,
 * each on its own channel, and nothing else of Electron or Node. The same type as the browser
 * twin (renderer/src/bridge/browser.ts), so the UI cannot tell them apart. Bundled to CommonJS
 * (sandboxed preloads cannot load ES modules).
 */
const backOffice = {
  signIn: (input) => ipcRenderer.invoke(SIGN_IN_CHANNEL, input) as Promise<BridgeResult<SignedIn>>,
  signOut: () => ipcRenderer.invoke(SIGN_OUT_CHANNEL) as Promise<BridgeResult<{ ended: boolean }>>,
  session: () => ipcRenderer.invoke(SESSION_CHANNEL) as Promise<BridgeResult<SignedIn>>,
  commands: bridgeCommands((name, input, options) => ipcRenderer.invoke(`${BRIDGE_CHANNEL_PREFIX}${name}`, { input, ...(options.otp ? { otp: options.otp } : {}) })),
} satisfies BackOfficeBridge;

contextBridge.exposeInMainWorld('backOffice', backOffice);
