/**
 * Seeds the smoke test's database (test support): the same file and secrets folder the app will
 * open (BUFFMONEY_DATA_DIR), migrated, with one admin. Prints the admin's credentials as JSON.
 * Usage: node --import tsx test/electron/seed.ts <dataDir>
 */
import path from 'node:path';
import { createContext } from '../../core/context/index.js';
import { loadSecretsFile } from '../../core/context/secrets-file.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { createStaff } from '../../core/staff/index.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: seed.ts <dataDir>');
const db = openDatabase(path.join(dataDir, 'buffmoney.db'));
await migrateToLatest(db);
const ctx = createContext({ db, bcryptCost: 4, secrets: loadSecretsFile(dataDir, {}) });
const password = 'electron smoke correct horse';
const created = await createStaff(ctx, { email: 'smoke.admin@buffmoney.test', role: 'admin', password }, null);
await db.close();
console.log(JSON.stringify({ email: created.staff.email, password, totpSecret: created.totpSecret }));
