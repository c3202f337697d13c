import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ShellSettings } from './shell-api.js';
import { parseDatabaseUrl } from '../core/db/index.js';

/**
 * The desktop shell's settings: where the database is, and whether (and on which port) the
 * bundled server runs. Kept as JSON in the app's userData folder, zod-parsed on the way in and
 * out. No Electron here (tested by vitest: test/electron/settings.test.ts); main.ts passes the
 * folders Electron knows.
 */

export const SETTINGS_FILE_NAME = 'settings.json';
export const DEFAULT_SERVER_PORT = 8787;

const AbsolutePath = z
  .string()
  .trim()
  .min(1)
  .max(4096)
  .refine((p) => path.isAbsolute(p), 'must be an absolute path');

export const DatabaseSettingSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('default') }),
  z.strictObject({ kind: z.literal('file'), path: AbsolutePath }),
  z.strictObject({
    kind: z.literal('postgres'),
    url: z
      .string()
      .trim()
      .max(2048)
      .regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// URL'),
  }),
]);

export const ShellSettingsSchema = z.strictObject({
  database: DatabaseSettingSchema,
  server: z.strictObject({
    enabled: z.boolean(),
    port: z.number().int().min(1024, 'use a port from 1024 up').max(65535),
  }),
}) satisfies z.ZodType<ShellSettings>;

export const DEFAULT_SETTINGS: ShellSettings = { database: { kind: 'default' }, server: { enabled: true, port: DEFAULT_SERVER_PORT } };

export interface LoadedSettings {
  settings: ShellSettings;
  /** Why the file was not used (unreadable JSON, invalid values); null when it was, or is absent. */
  problem: string | null;
}

/**
 * Reads the settings file. A missing file means defaults; a corrupt one also means defaults, and
 * says why, so the Settings screen can show it. The corrupt file is left as it is until the
 * officer saves (nothing of theirs is thrown away behind their back).
 */
export function loadShellSettings(file: string): LoadedSettings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { settings: DEFAULT_SETTINGS, problem: null };
    return { settings: DEFAULT_SETTINGS, problem: `The settings file could not be read (${(e as Error).message}); using the defaults.` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { settings: DEFAULT_SETTINGS, problem: 'The settings file is not valid JSON; using the defaults until you save.' };
  }
  const parsed = ShellSettingsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { settings: DEFAULT_SETTINGS, problem: `The settings file is invalid (${issue.path.join('.') || 'file'}: ${issue.message}); using the defaults until you save.` };
  }
  return { settings: parsed.data, problem: null };
}

export type SaveResult = { ok: true; settings: ShellSettings } | { ok: false; error: { code: 'settings_invalid'; message: string } };

/** Validates and writes the settings (atomically: a crash mid-write leaves the old file). */
export function saveShellSettings(file: string, input: unknown): SaveResult {
  const parsed = ShellSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: { code: 'settings_invalid', message: `${issue.path.join('.') || 'settings'}: ${issue.message}` } };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { ok: true, settings: parsed.data };
}

/**
 * The database this run uses: a SQLite file, or a PostgreSQL server. With PostgreSQL the secrets
 * file (JWT secret, the data key sealing TOTP seeds) lives in `dataDir`: every desktop and server
 * on that database needs the same file there (copy it once when adding a machine).
 */
export type ResolvedDatabase = { engine: 'sqlite'; file: string; url: string } | { engine: 'postgres'; url: string; dataDir: string };

/**
 * Where the database is. `BUFFMONEY_DB` / `BUFFMONEY_DATA_DIR` in the environment win over the
 * settings (npm start and the smoke test point the app at a folder of their own); otherwise the
 * settings; by default `<userData>/data/buffmoney.db`.
 */
export function resolveDatabase(settings: ShellSettings, userDataDir: string, env: Readonly<Record<string, string | undefined>> = {}): ResolvedDatabase {
  const pgDataDir = path.resolve(env.BUFFMONEY_DATA_DIR ?? path.join(userDataDir, 'data'));
  if (env.BUFFMONEY_DB) {
    // The one reading of a database URL (core/db): postgres://… is a server, another scheme is refused.
    const location = parseDatabaseUrl(env.BUFFMONEY_DB);
    return location.engine === 'postgres' ? { engine: 'postgres', url: location.url, dataDir: pgDataDir } : sqlite(location.file);
  }
  if (env.BUFFMONEY_DATA_DIR) return sqlite(path.join(path.resolve(env.BUFFMONEY_DATA_DIR), 'buffmoney.db'));
  switch (settings.database.kind) {
    case 'file':
      return sqlite(settings.database.path);
    case 'postgres':
      return { engine: 'postgres', url: settings.database.url, dataDir: pgDataDir };
    default:
      return sqlite(defaultDatabaseFile(userDataDir));
  }
}

export const defaultDatabaseFile = (userDataDir: string) => path.join(userDataDir, 'data', 'buffmoney.db');

function sqlite(file: string): ResolvedDatabase {
  return { engine: 'sqlite', file, url: file };
}

/**
 * The folder of the secrets file (core/context/secrets-file.ts): the database's own folder, as
 * the server and the CLI use, so a TOTP seed sealed by one of them opens in the others.
 */
export const secretsDirFor = (databaseFile: string) => path.dirname(databaseFile);

/** A postgres:// URL with its password masked, for showing on screen. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1••••@');
}

/** Whether two settings would start the app the same way (else a restart applies the saved ones). */
export function sameSettings(a: ShellSettings, b: ShellSettings): boolean {
  return JSON.stringify(ShellSettingsSchema.parse(a)) === JSON.stringify(ShellSettingsSchema.parse(b));
}
