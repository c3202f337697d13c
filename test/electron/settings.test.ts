import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadShellSettings, redactDatabaseUrl, resolveDatabase, sameSettings, saveShellSettings, secretsDirFor } from '../../electron/settings.js';

/** The desktop shell's settings file, without Electron: what main.ts reads at every start. */

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-shell-settings-'));
  file = path.join(dir, 'settings.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('desktop shell settings', () => {
  it('starts from the defaults: the app-data database and the server on, port 8787', () => {
    expect(loadShellSettings(file)).toEqual({ settings: DEFAULT_SETTINGS, problem: null });
    expect(DEFAULT_SETTINGS).toEqual({ database: { kind: 'default' }, server: { enabled: true, port: 8787 } });
  });

  it('saves and reads back a chosen file, a postgres URL, the server toggle and port', () => {
    const chosen = { database: { kind: 'file', path: path.join(dir, 'books.db') }, server: { enabled: false, port: 9000 } };
    expect(saveShellSettings(file, chosen)).toEqual({ ok: true, settings: chosen });
    expect(loadShellSettings(file)).toEqual({ settings: chosen, problem: null });
    const pg = { database: { kind: 'postgres', url: 'postgres://bm:secret@db.internal/buffmoney' }, server: { enabled: true, port: 8787 } };
    expect(saveShellSettings(file, pg).ok).toBe(true);
    expect(loadShellSettings(file).settings).toEqual(pg);
    expect(fs.readdirSync(dir)).toEqual(['settings.json']);
  });

  it('refuses invalid settings with a stable code and leaves the file as it was', () => {
    saveShellSettings(file, DEFAULT_SETTINGS);
    for (const bad of [
      { database: { kind: 'file', path: 'relative.db' }, server: { enabled: true, port: 8787 } },
      { database: { kind: 'postgres', url: 'mysql://x' }, server: { enabled: true, port: 8787 } },
      { database: { kind: 'default' }, server: { enabled: true, port: 80 } },
      { database: { kind: 'default' }, server: { enabled: true, port: 8787.5 } },
      { database: { kind: 'default' }, server: { enabled: true, port: 8787 }, extra: 1 },
    ]) {
      const r = saveShellSettings(file, bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('settings_invalid');
    }
    expect(loadShellSettings(file).settings).toEqual(DEFAULT_SETTINGS);
  });

  it('falls back to the defaults on a corrupt or invalid file, says why, and keeps the file', () => {
    fs.writeFileSync(file, '{ not json');
    const corrupt = loadShellSettings(file);
    expect(corrupt.settings).toEqual(DEFAULT_SETTINGS);
    expect(corrupt.problem).toMatch(/not valid JSON/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{ not json');
    fs.writeFileSync(file, JSON.stringify({ database: { kind: 'default' }, server: { enabled: 'yes', port: 8787 } }));
    const invalid = loadShellSettings(file);
    expect(invalid.settings).toEqual(DEFAULT_SETTINGS);
    expect(invalid.problem).toMatch(/server\.enabled/);
  });

  it('resolves the database: environment first, then the settings, then the app-data folder', () => {
    const userData = path.join(dir, 'userData');
    expect(resolveDatabase(DEFAULT_SETTINGS, userData)).toEqual({
      engine: 'sqlite',
      file: path.join(userData, 'data', 'buffmoney.db'),
      url: path.join(userData, 'data', 'buffmoney.db'),
    });
    const chosen = { ...DEFAULT_SETTINGS, database: { kind: 'file' as const, path: path.join(dir, 'books.db') } };
    expect(resolveDatabase(chosen, userData)).toMatchObject({ engine: 'sqlite', file: path.join(dir, 'books.db') });
    expect(resolveDatabase({ ...DEFAULT_SETTINGS, database: { kind: 'postgres', url: 'postgres://h/db' } }, userData)).toEqual({
      engine: 'postgres',
      url: 'postgres://h/db',
      dataDir: path.join(userData, 'data'),
    });
    expect(resolveDatabase(chosen, userData, { BUFFMONEY_DATA_DIR: path.join(dir, 'smoke') })).toMatchObject({ file: path.join(dir, 'smoke', 'buffmoney.db') });
    expect(resolveDatabase(chosen, userData, { BUFFMONEY_DB: path.join(dir, 'x.db'), BUFFMONEY_DATA_DIR: '/elsewhere' })).toMatchObject({ file: path.join(dir, 'x.db') });
    // BUFFMONEY_DB is read as core reads it: a postgres:// URL is a server (secrets in BUFFMONEY_DATA_DIR), another scheme is refused
    expect(resolveDatabase(chosen, userData, { BUFFMONEY_DB: 'postgres://bm:pw@127.0.0.1:5432/books', BUFFMONEY_DATA_DIR: path.join(dir, 'shared') })).toEqual({
      engine: 'postgres',
      url: 'postgres://bm:pw@127.0.0.1:5432/books',
      dataDir: path.join(dir, 'shared'),
    });
    expect(() => resolveDatabase(chosen, userData, { BUFFMONEY_DB: 'mysql://h/db' })).toThrow(/Unsupported database URL scheme/);
    // secrets live beside the database, as the server and the CLI keep them
    expect(secretsDirFor(path.join(dir, 'books.db'))).toBe(dir);
  });

  it('masks a postgres password for display and compares settings by value', () => {
    expect(redactDatabaseUrl('postgres://bm:s3cret@db.internal:5432/buffmoney')).toBe('postgres://bm:••••@db.internal:5432/buffmoney');
    expect(redactDatabaseUrl('postgres://db.internal/buffmoney')).toBe('postgres://db.internal/buffmoney');
    expect(sameSettings(DEFAULT_SETTINGS, { server: { port: 8787, enabled: true }, database: { kind: 'default' } })).toBe(true);
    expect(sameSettings(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, server: { enabled: false, port: 8787 } })).toBe(false);
  });
});
