import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { type RunningCluster, startCluster } from './cluster.js';
import { excludedOnPostgres } from './excluded.js';

/**
 * vitest globalSetup of `npm run test:pg`: starts a private PostgreSQL cluster, migrates a
 * template database once, and hands its URL to every test file as BUFFMONEY_TEST_DB (the one
 * switch core/testing/database.ts reads); each test database is a copy of it. With
 * BUFFMONEY_TEST_PG_URL (a superuser URL of an existing server) no cluster is started.
 */
let cluster: RunningCluster | undefined;

export default async function setup(_project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.BUFFMONEY_TEST_PG_URL;
  if (!adminUrl) {
    cluster = await startCluster();
    adminUrl = cluster.adminUrl;
  }
  const templateName = `buffmoney_template_${process.pid}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${templateName}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${templateName}"`);
  await client.end();
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${templateName}`;
  const db = openDatabase(templateUrl.toString(), { poolSize: 1 });
  await migrateToLatest(db);
  await db.close();
  process.env.BUFFMONEY_TEST_DB = templateUrl.toString();
  return async () => {
    // Said at the end of every run, whatever the reporter: how much of the suite did not run here.
    const reasons = new Map<string, number>();
    for (const e of excludedOnPostgres) reasons.set(e.why, (reasons.get(e.why) ?? 0) + 1);
    console.log(`\ntest:pg: ${excludedOnPostgres.length} test files excluded on PostgreSQL (test/pg/excluded.ts)`);
    for (const [why, n] of reasons) console.log(`  ${String(n).padStart(3)}  ${why}`);
    if (cluster) cluster.stop();
    else {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${templateName}" WITH (FORCE)`);
      await c.end();
    }
  };
}
