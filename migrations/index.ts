import type { Migration } from 'kysely';
import * as m0001 from './0001_merchants.js';
import * as m0002 from './0002_customers.js';
import * as m0003 from './0003_usage.js';
import * as m0004 from './0004_backoffice.js';
import * as m0005 from './0005_catalog.js';
import * as m0006 from './0006_usage_compact.js';
import * as m0007 from './0007_destination_history.js';
import * as m0008 from './0008_audit_hash_version.js';
import * as m0009 from './0009_ledger_events.js';
import * as m0010 from './0010_fx_rates.js';
import * as m0011 from './0011_invoices.js';
import * as m0012 from './0012_rate_limits.js';
import * as m0015 from './0015_timestamptz.js';
import * as m0016 from './0016_payments.js';
import * as m0017 from './0017_usage_index_file.js';
import * as m0018 from './0018_webhooks.js';
import * as m0019 from './0019_sandbox_channel_records.js';
import * as m0020 from './0020_settlement.js';
import * as m0021 from './0021_chain.js';

/**
 * Every migration, in order, listed statically: scanning a folder at run time breaks inside an
 * asar archive and with ESM on Windows. Append new ones; never edit or reorder old ones.
 */
export const migrations: Record<string, Migration> = {
  '0001_merchants': m0001,
  '0002_customers': m0002,
  '0003_usage': m0003,
  '0004_backoffice': m0004,
  '0005_catalog': m0005,
  '0006_usage_compact': m0006,
  '0007_destination_history': m0007,
  '0008_audit_hash_version': m0008,
  '0009_ledger_events': m0009,
  '0010_fx_rates': m0010,
  '0011_invoices': m0011,
  '0012_rate_limits': m0012,
  '0015_timestamptz': m0015,
  '0016_payments': m0016,
  '0017_usage_index_file': m0017,
  '0018_webhooks': m0018,
  '0019_sandbox_channel_records': m0019,
  '0020_settlement': m0020,
  '0021_chain': m0021,
};
