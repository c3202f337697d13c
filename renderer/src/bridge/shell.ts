/**
 * `window.backOfficeShell`: the desktop shell's Settings API (electron/preload.ts), absent in the
 * browser build. Types only. The renderer may not import from electron/, so the shape is repeated
 * from electron/shell-api.ts; test/electron/shell-api.test.ts fails the typecheck if they drift.
 */
export type ShellResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

export type DatabaseSetting = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'postgres'; url: string };

export interface ShellSettings {
  database: DatabaseSetting;
  server: { enabled: boolean; port: number };
}

export interface ShellStatus {
  settings: ShellSettings;
  running: {
    databaseFile: string | null;
    databaseError: string | null;
    databaseFromEnvironment: boolean;
    backupFile: string | null;
    server: { state: 'off' | 'starting' | 'running' | 'stopped' | 'failed'; url: string | null; detail: string | null };
  };
  defaultDatabaseFile: string;
  settingsFile: string;
  settingsProblem: string | null;
  restartNeeded: boolean;
  version: string;
}

export interface BackOfficeShell {
  status(): Promise<ShellResult<ShellStatus>>;
  saveSettings(settings: ShellSettings): Promise<ShellResult<ShellStatus>>;
  chooseDatabaseFile(): Promise<ShellResult<{ path: string | null }>>;
  relaunch(): Promise<ShellResult<{ relaunching: true }>>;
}
