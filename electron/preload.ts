import { contextBridge, ipcRenderer } from 'electron';
import { type BackOfficeBridge, type BridgeResult, type CommandOptions, type Enrolment, type SignedIn, bridgeCommands } from '../core/backoffice/bridge.js';
import {
  BRIDGE_CHANNEL_PREFIX,
  ENROL_CHANNEL,
  PROGRESS_CHANNEL,
  SESSION_CHANNEL,
  SHELL_CHOOSE_DATABASE_CHANNEL,
  SHELL_RELAUNCH_CHANNEL,
  SHELL_SAVE_SETTINGS_CHANNEL,
  SHELL_STATUS_CHANNEL,
  SIGN_IN_CHANNEL,
  SIGN_OUT_CHANNEL,
} from './channels.js';
import type { BackOfficeShell, ShellResult, ShellStatus } from './shell-api.js';

/**
 * Exposes the bridge to the renderer as `window.backOffice`: one function per registry command,
 * each on its own channel, and nothing else of Electron or Node. The same type as the browser
 * twin (renderer/src/bridge/browser.ts), so the UI cannot tell them apart. And
 * `window.backOfficeShell`, the Settings screen's small API. Bundled to CommonJS (sandboxed
 * preloads cannot load ES modules).
 */

/**
 * Progress callbacks stay here, in the preload's world: only a call id crosses to the main
 * process, which answers on PROGRESS_CHANNEL with `{ id, done, total }`.
 */
const listeners = new Map<string, NonNullable<CommandOptions['onProgress']>>();
let calls = 0;
ipcRenderer.on(PROGRESS_CHANNEL, (_event, message: { id?: unknown; done?: unknown; total?: unknown }) => {
  const listener = typeof message?.id === 'string' ? listeners.get(message.id) : undefined;
  if (listener && typeof message.done === 'number' && typeof message.total === 'number') listener(message.done, message.total);
});

async function sendCommand(name: string, input: unknown, options: CommandOptions): Promise<BridgeResult<unknown>> {
  const envelope = { input, ...(options.otp ? { otp: options.otp } : {}) };
  if (!options.onProgress) return ipcRenderer.invoke(`${BRIDGE_CHANNEL_PREFIX}${name}`, envelope);
  const progressId = `p${++calls}`;
  listeners.set(progressId, options.onProgress);
  try {
    return await ipcRenderer.invoke(`${BRIDGE_CHANNEL_PREFIX}${name}`, { ...envelope, progressId });
  } finally {
    listeners.delete(progressId);
  }
}

const backOffice = {
  signIn: (input) => ipcRenderer.invoke(SIGN_IN_CHANNEL, input) as Promise<BridgeResult<SignedIn>>,
  enrol: (input) => ipcRenderer.invoke(ENROL_CHANNEL, input) as Promise<BridgeResult<Enrolment>>,
  signOut: () => ipcRenderer.invoke(SIGN_OUT_CHANNEL) as Promise<BridgeResult<{ ended: boolean }>>,
  session: () => ipcRenderer.invoke(SESSION_CHANNEL) as Promise<BridgeResult<SignedIn>>,
  commands: bridgeCommands(sendCommand),
} satisfies BackOfficeBridge;

const backOfficeShell = {
  status: () => ipcRenderer.invoke(SHELL_STATUS_CHANNEL) as Promise<ShellResult<ShellStatus>>,
  saveSettings: (settings) => ipcRenderer.invoke(SHELL_SAVE_SETTINGS_CHANNEL, settings) as Promise<ShellResult<ShellStatus>>,
  chooseDatabaseFile: () => ipcRenderer.invoke(SHELL_CHOOSE_DATABASE_CHANNEL) as Promise<ShellResult<{ path: string | null }>>,
  relaunch: () => ipcRenderer.invoke(SHELL_RELAUNCH_CHANNEL) as Promise<ShellResult<{ relaunching: true }>>,
} satisfies BackOfficeShell;

contextBridge.exposeInMainWorld('backOffice', backOffice);
contextBridge.exposeInMainWorld('backOfficeShell', backOfficeShell);
