import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrowserWindow, type IpcMainInvokeEvent, app, dialog, ipcMain, session, shell, utilityProcess } from 'electron';
import { z } from 'zod';
import { BRIDGE_COMMAND_NAMES, type BridgeResult } from '../core/backoffice/bridge.js';
import { createBridgeHost } from '../core/backoffice/host.js';
import { throttleProgress } from '../core/backoffice/progress.js';
import { toCommandFailure } from '../core/backoffice/registry.js';
import { createContext } from '../core/context/index.js';
import { installHostPaymentChannels } from '../core/payments/setup/install.js';
import { installHostChainConfigs } from '../core/chain/status.js';
import { loadSecretsFile } from '../core/context/secrets-file.js';
import { type MigrationBackup, migrateWithBackup } from '../core/db/backup.js';
import { type Db, openDatabase } from '../core/db/index.js';
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
import { type ChildHandle, ServerSupervisor } from './server-process.js';
import {
  DEFAULT_SETTINGS,
  type LoadedSettings,
  type ResolvedDatabase,
  SETTINGS_FILE_NAME,
  defaultDatabaseFile,
  loadShellSettings,
  redactDatabaseUrl,
  resolveDatabase,
  sameSettings,
  saveShellSettings,
  secretsDirFor,
} from './settings.js';
import type { ShellResult, ShellStatus } from './shell-api.js';

/**
 * The desktop shell: one window over the renderer, the registry in this process, one IPC channel
 * per command (never one generic channel that forwards any name), and the bundled server as a
 * utility process on the same database. The renderer never holds the session token: it stays
 * here, as the HttpOnly cookie does in the browser build. See electron/README.md.
 */

const RENDERER_DIR = path.resolve(import.meta.dirname, '../renderer');
const RENDERER_URL = pathToFileURL(path.join(RENDERER_DIR, 'index.html')).href;
/** dist/server/main.js, bundled by electron/build.ts beside dist/electron. */
const SERVER_ENTRY = path.resolve(import.meta.dirname, '../server/main.js');
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The smoke test (and anyone keeping several profiles) gives the app a userData folder of its own.
if (process.env.BUFFMONEY_USER_DATA) app.setPath('userData', path.resolve(process.env.BUFFMONEY_USER_DATA));

let win: BrowserWindow | null = null;
let sessionToken: string | undefined;

/** What this run started with, for the Settings screen. */
const run: {
  loaded: LoadedSettings;
  database: ResolvedDatabase | null;
  databaseError: string | null;
  backup: MigrationBackup | null;
  server: ServerSupervisor | null;
} = { loaded: { settings: DEFAULT_SETTINGS, problem: null }, database: null, databaseError: null, backup: null, server: null };

const settingsFile = () => path.join(app.getPath('userData'), SETTINGS_FILE_NAME);

function refused(code: string, message: string): BridgeResult<never> {
  return { ok: false, error: { code, message } };
}

/** Only our own window's top frame, showing our own renderer, may call the back office. */
function fromOurWindow(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return win !== null && frame !== null && event.sender === win.webContents && frame === win.webContents.mainFrame && frame.url.split('#')[0] === RENDERER_URL;
}

function handle(channel: string, respond: (payload: unknown, event: IpcMainInvokeEvent) => Promise<ShellResult<unknown> | BridgeResult<unknown>>): void {
  ipcMain.handle(channel, async (event, payload: unknown) => {
    if (!fromOurWindow(event)) return refused('sender_refused', 'This request did not come from the back office window');
    try {
      return await respond(payload, event);
    } catch (e) {
      return toCommandFailure(e);
    }
  });
}

/** `progressId` is the shell's, not the registry's: taken off before the host's strict parse. */
const ProgressId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

function splitProgressId(payload: unknown): { payload: unknown; progressId?: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !('progressId' in payload)) return { payload };
  const { progressId, ...rest } = payload as Record<string, unknown>;
  const id = ProgressId.safeParse(progressId);
  return id.success ? { payload: rest, progressId: id.data } : { payload };
}

/**
 * Changing where the ledger lives, or whether this computer serves the public API, is an admin's
 * decision: the signed-in session must be an admin's. (No database, no sign-in: then the start-up
 * dialog offers the default database instead.)
 */
let requireAdmin: () => Promise<BridgeResult<never> | null> = async () => refused('database_unavailable', 'The database is not open, so no one can sign in');

/** The bridge's channels; the session token lives here in the main process, never in the page. */
function registerBridge(db: Db, secretsDir: string): void {
  const ctx = createContext({ db, secrets: loadSecretsFile(secretsDir, process.env) });
  // Refunds and reconciliation from the desktop: the same channel clients as the server; the
  // sandbox ones reach the peers the bundled server mounts (its URL once it runs).
  void installHostPaymentChannels(ctx, {
    env: process.env,
    dataDir: secretsDir,
    publicUrl: () => process.env.BUFFMONEY_PUBLIC_URL ?? run.server?.state.url ?? `http://127.0.0.1:${run.loaded.settings.server.port}`,
    sandbox: process.env.BUFFMONEY_SANDBOX_CHANNELS !== '0',
  });
  installHostChainConfigs(ctx, process.env);
  const host = createBridgeHost(ctx, { onUnexpectedError: (e) => console.error('[buffmoney] back office error:', e) });
  requireAdmin = async () => {
    const me = await host.session(sessionToken);
    if (!me.ok) return me;
    return me.data.staff.role === 'admin' ? null : refused('role_forbidden', 'Only an admin may change the desktop settings');
  };
  handle(SIGN_IN_CHANNEL, async (payload) => {
    const { result, session } = await host.signIn(payload);
    if (session) sessionToken = session.token;
    return result;
  });
  handle(ENROL_CHANNEL, (payload) => host.enrol(payload));
  handle(SIGN_OUT_CHANNEL, async () => {
    const token = sessionToken;
    sessionToken = undefined;
    return host.signOut(token);
  });
  handle(SESSION_CHANNEL, () => host.session(sessionToken));
  for (const name of BRIDGE_COMMAND_NAMES) {
    handle(`${BRIDGE_CHANNEL_PREFIX}${name}`, (raw, event) => {
      const { payload, progressId } = splitProgressId(raw);
      // Progress goes back only to the window that asked, on its own channel, keyed by its id.
      const onProgress =
        progressId === undefined
          ? undefined
          : throttleProgress((done, total) => {
              if (!event.sender.isDestroyed()) event.sender.send(PROGRESS_CHANNEL, { id: progressId, done, total });
            });
      return host.command(sessionToken, name, payload, { onProgress });
    });
  }
}

/** Without a database the back office cannot work: the bridge says so on every call. */
function registerUnavailableBridge(message: string): void {
  const unavailable = async () => refused('database_unavailable', message);
  for (const channel of [SIGN_IN_CHANNEL, ENROL_CHANNEL, SIGN_OUT_CHANNEL, SESSION_CHANNEL, ...BRIDGE_COMMAND_NAMES.map((n) => `${BRIDGE_CHANNEL_PREFIX}${n}`)])
    handle(channel, unavailable);
}

function shellStatus(): ShellStatus {
  const saved = loadShellSettings(settingsFile());
  const settings =
    saved.settings.database.kind === 'postgres'
      ? { ...saved.settings, database: { kind: 'postgres' as const, url: redactDatabaseUrl(saved.settings.database.url) } }
      : saved.settings;
  return {
    settings,
    running: {
      databaseFile: run.database?.engine === 'sqlite' && run.databaseError === null ? run.database.file : null,
      databaseError: run.databaseError,
      databaseFromEnvironment: Boolean(process.env.BUFFMONEY_DB || process.env.BUFFMONEY_DATA_DIR),
      backupFile: run.backup?.file ?? null,
      server: run.server?.state ?? { state: 'off', url: null, detail: null },
    },
    defaultDatabaseFile: defaultDatabaseFile(app.getPath('userData')),
    settingsFile: settingsFile(),
    settingsProblem: saved.problem,
    restartNeeded: !sameSettings(saved.settings, run.loaded.settings),
    version: app.getVersion(),
  };
}

function registerShell(): void {
  handle(SHELL_STATUS_CHANNEL, async () => ({ ok: true, data: shellStatus() }));
  handle(SHELL_SAVE_SETTINGS_CHANNEL, async (payload) => {
    const denied = await requireAdmin();
    if (denied) return denied;
    // A masked postgres URL sent back unchanged keeps the stored one (the page never sees it).
    const current = loadShellSettings(settingsFile()).settings;
    const input = payload as { database?: { kind?: string; url?: string } } | null;
    if (input?.database?.kind === 'postgres' && current.database.kind === 'postgres' && input.database.url === redactDatabaseUrl(current.database.url)) {
      input.database.url = current.database.url;
    }
    const saved = saveShellSettings(settingsFile(), payload);
    return saved.ok ? { ok: true, data: shellStatus() } : { ok: false, error: saved.error };
  });
  handle(SHELL_CHOOSE_DATABASE_CHANNEL, async () => {
    const denied = await requireAdmin();
    if (denied) return denied;
    if (!win) return refused('window_missing', 'No window');
    const r = await dialog.showSaveDialog(win, {
      title: 'Database file',
      defaultPath: defaultDatabaseFile(app.getPath('userData')),
      filters: [{ name: 'SQLite database', extensions: ['db', 'sqlite', 'sqlite3'] }],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    return { ok: true, data: { path: r.canceled || !r.filePath ? null : r.filePath } };
  });
  handle(SHELL_RELAUNCH_CHANNEL, async () => {
    const denied = await requireAdmin();
    if (denied) return denied;
    app.relaunch();
    setImmediate(() => app.quit());
    return { ok: true, data: { relaunching: true } };
  });
}

/** Electron's utilityProcess, adapted to the supervisor's child (electron/server-process.ts). */
function forkServer(databaseUrl: string, dataDir: string, port: number): ChildHandle {
  const child = utilityProcess.fork(SERVER_ENTRY, [], {
    serviceName: 'BuffMoney server',
    stdio: 'pipe',
    env: { ...process.env, BUFFMONEY_DB: databaseUrl, BUFFMONEY_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' },
  });
  return {
    get pid() {
      return child.pid;
    },
    terminate: () => void child.kill(),
    forceKill: () => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    },
    onExit: (listener) => child.once('exit', (code) => listener(code)),
    onLine: (listener) => {
      for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream?.on('data', (chunk: Buffer | string) => {
          const lines = (rest + chunk.toString()).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) listener(line);
        });
      }
    },
  };
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1360,
    height: 860,
    show: false,
    title: 'BuffMoney',
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

/** Opens (and migrates, after a backup) the database the settings name; null with a reason if it cannot. */
async function openConfiguredDatabase(database: ResolvedDatabase): Promise<{ db: Db } | { error: string }> {
  let db: Db | undefined;
  const shown = database.engine === 'postgres' ? redactDatabaseUrl(database.url) : database.file;
  try {
    if (database.engine === 'sqlite') fs.mkdirSync(path.dirname(database.file), { recursive: true });
    // PostgreSQL: the first contact with the server is the migration below (no file to back up).
    db = openDatabase(database.url);
    const { backup } = await migrateWithBackup(db, { now: new Date() });
    run.backup = backup;
    if (backup) console.log(`[buffmoney] database backed up before migrating: ${backup.file}`);
    return { db };
  } catch (e) {
    await db?.close().catch(() => undefined);
    return { error: `The database ${shown} could not be opened: ${(e as Error).message}` };
  }
}

/** A database that cannot be opened: say why, and offer the default one (or quitting). */
async function offerDefaultDatabase(reason: string): Promise<void> {
  const choice = await dialog.showMessageBox({
    type: 'error',
    title: 'BuffMoney',
    message: 'The back office cannot open its database',
    detail: reason,
    buttons: ['Use the default database on this computer', 'Quit'],
    defaultId: 0,
    cancelId: 1,
  });
  if (choice.response === 0) {
    saveShellSettings(settingsFile(), { ...run.loaded.settings, database: { kind: 'default' } });
    app.relaunch();
  }
  app.quit();
}

let quitting = false;
async function shutdown(db: Db | null): Promise<void> {
  await run.server?.stop();
  await db?.close().catch(() => undefined);
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
    run.loaded = loadShellSettings(settingsFile());
    if (run.loaded.problem) console.error(`[buffmoney] ${run.loaded.problem}`);
    run.database = resolveDatabase(run.loaded.settings, app.getPath('userData'), process.env);
    const opened = await openConfiguredDatabase(run.database);
    const db = 'db' in opened ? opened.db : null;

    // The page's own meta CSP applies to file:// loads; this header covers anything served otherwise.
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    registerShell();
    if (db) {
      const database = run.database;
      const dataDir = database.engine === 'sqlite' ? secretsDirFor(database.file) : database.dataDir;
      registerBridge(db, dataDir);
      const { server } = run.loaded.settings;
      if (server.enabled && process.env.BUFFMONEY_SERVER !== '0') {
        run.server = new ServerSupervisor({ spawn: () => forkServer(database.url, dataDir, server.port), onLine: (line) => console.log(`[server] ${line}`) });
        run.server.start();
      }
    } else {
      run.databaseError = 'error' in opened ? opened.error : 'No database';
      registerUnavailableBridge(run.databaseError);
    }
    win = createWindow();
    if (!db) void offerDefaultDatabase(run.databaseError ?? 'No database');

    app.on('window-all-closed', () => app.quit());
    // Stop the server (SIGTERM, then a kill after 5 s) and close the database before exiting.
    app.on('before-quit', (event) => {
      if (quitting) return;
      quitting = true;
      event.preventDefault();
      void shutdown(db).finally(() => app.quit());
    });
  });
}
