/**
 * Test support (tests only): one invoice run in a process of its own, against a database file,
 * as the scheduler or the CLI of a second process would run it. Prints the run report as JSON.
 * Usage: node --import tsx core/invoices/testing/run-generation.ts <db file> <asOf ISO>
 */
import { ManualClock, createContext } from '../../context/index.js';
import { openDatabase } from '../../db/index.js';
import { generateInvoices } from '../generate.js';

const [file, asOf] = process.argv.slice(2);
const db = openDatabase(file, { durable: false });
const ctx = createContext({ db, clock: new ManualClock(asOf), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
const report = await generateInvoices(ctx);
await db.close();
process.stdout.write(JSON.stringify(report));
