import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrowserWindow, type IpcMainInvokeEvent, app, ipcMain, session, shell } from 'electron';
import { BRIDGE_COMMAND_NAMES, type BridgeResult } from '../core/backoffice/bridge.js';
import { createBridgeHost } from '../core/backoffice/host.js';
import { toCommandFailure } from '../core/backoffice/registry.js';
import { type CoreContext, createContext } from '../core/context/index.js';
import { loadSecretsFile } from '../core/context/secrets-file.js';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { BRIDGE_CHANNEL_PREFIX, SIGN_IN_CHANNEL, SIGN_OUT_CHANNEL, SESSION_CHANNEL } from './channels.js';

/**
 * The desktop shell: one window over the renderer, the registry in this process, one IPC channel
 * per command (never one generic channel that forwards any name). The renderer never holds the
 * session token: it stays here, as the HttpOnly cookie does in the browser build.
 *
 * Still to come (issue 11): the database file chosen in settings and backed up before migrations,
 * the bundled server as a utility process on the same database, electron-builder packaging.
 */

const RENDERER_DIR = path.resolve(import.meta.dirname, '../renderer');
const RENDERER_URL = pathToFileURL(path.join(RENDERER_DIR, 'index.html')).href;
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let win: BrowserWindow | null = null;
let sessionToken: string | undefined;

function refused(code: string, message: string): BridgeResult<never> {
  return { ok: false, error: { code, message } };
}

/** Only our own window's top frame, showing our own renderer, may call the back office. */
function fromOurWindow(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return win !== null && frame !== null && event.sender === win.webContents && frame === win.webContents.mainFrame && frame.url.split('#')[0] === RENDERER_URL;
}

function handle(channel: string, run: (payload: unknown) => Promise<BridgeResult<unknown>>): void {
  ipcMain.handle(channel, async (event, payload: unknown) => {
    if (!fromOurWindow(event)) return refused('sender_refused', 'This request did not come from the back office window');
    try {
      return await run(payload);
    } catch (e) {
      return toCommandFailure(e);
    }
  });
}

/** The bridge's channels; the session token lives here in the main process, never in the page. */
function registerBridge(ctx: CoreContext): void {
  const host = createBridgeHost(ctx, { onUnexpectedError: (e) => console.error('[buffmoney] back office error:', e) });
  handle(SIGN_IN_CHANNEL, async (payload) => {
    const { result, session } = await host.signIn(payload);
    if (session) sessionToken = session.token;
    return result;
  });
  handle(SIGN_OUT_CHANNEL, async () => {
    const token = sessionToken;
    sessionToken = undefined;
    return host.signOut(token);
  });
  handle(SESSION_CHANNEL, () => host.session(sessionToken));
  for (const name of BRIDGE_COMMAND_NAMES) handle(`${BRIDGE_CHANNEL_PREFIX}${name}`, (payload) => host.command(sessionToken, name, payload));
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1360,
    height: 860,
    show: false,
    webPreferences: {
      preload: path.join(import.meta.dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  w.once('ready-to-show', () => w.show());
  // Navigation stays on the renderer; http(s) links open in the system browser; nothing else opens.
  w.webContents.on('will-navigate', (event, url) => {
    if (url.split('#')[0] !== RENDERER_URL) event.preventDefault();
  });
  w.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void w.loadURL(RENDERER_URL);
  return w;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.whenReady().then(async () => {
    const dataDir = process.env.BUFFMONEY_DATA_DIR ?? path.join(app.getPath('userData'), 'data');
    const db = openDatabase(process.env.BUFFMONEY_DB ?? path.join(dataDir, 'buffmoney.db'));
    await migrateToLatest(db);
    const ctx = createContext({ db, secrets: loadSecretsFile(dataDir, process.env) });
    // The page's own meta CSP applies to file:// loads; this header covers anything served otherwise.
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    registerBridge(ctx);
    win = createWindow();
    app.on('window-all-closed', () => app.quit());
    app.on('will-quit', () => void db.close());
  });
}
