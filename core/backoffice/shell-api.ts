/**
 * The contract of `window.backOfficeShell`, the desktop shell's small second API (the Settings
 * screen's; absent in the browser build). Types only, and here in core beside the bridge contract
 * so the preload (electron/) and the renderer — which may import neither electron/ nor any core
 * code that runs — share one definition. Errors as data, as the bridge's.
 */
export type ShellResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

export type DatabaseSetting = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'postgres'; url: string };

export interface ShellSettings {
  database: DatabaseSetting;
  server: { enabled: boolean; port: number };
}

export interface ShellStatus {
  /** What the settings file holds (takes effect at the next start). */
  settings: ShellSettings;
  /** What this run actually uses. */
  running: {
    /** The database file in use, or null when none could be opened. */
    databaseFile: string | null;
    /** Why the database could not be opened (e.g. a postgres:// URL before PostgreSQL support). */
    databaseError: string | null;
    /** BUFFMONEY_DB / BUFFMONEY_DATA_DIR chose the database (npm start does): the setting is not used while they are set. */
    databaseFromEnvironment: boolean;
    /** The backup made before this start's migrations, if any. */
    backupFile: string | null;
    server: { state: 'off' | 'starting' | 'running' | 'stopped' | 'failed'; url: string | null; detail: string | null };
  };
  /** The default database file (the OS's app-data folder). */
  defaultDatabaseFile: string;
  settingsFile: string;
  /** Set when the settings file was unreadable and the defaults are in use. */
  settingsProblem: string | null;
  /** Whether saved settings differ from what this run uses: a restart applies them. */
  restartNeeded: boolean;
  version: string;
}

export interface BackOfficeShell {
  status(): Promise<ShellResult<ShellStatus>>;
  saveSettings(settings: ShellSettings): Promise<ShellResult<ShellStatus>>;
  /** Opens the OS's save dialog for a database file; null when cancelled. */
  chooseDatabaseFile(): Promise<ShellResult<{ path: string | null }>>;
  /** Restarts the app so saved settings take effect. */
  relaunch(): Promise<ShellResult<{ relaunching: true }>>;
}
