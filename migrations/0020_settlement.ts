import { type Kysely, sql } from 'kysely';
import { decimalType, int64Type, isPostgres, timeType } from './_dialect.js';

/**
 * Monthly settlement (issue 15): batches per environment, month and settlement currency; one line
 * per merchant with the invoices it covers; held-back merchants with their reason; two-admin
 * approvals bound to the batch's content hash; the payout files produced, with their hashes.
 *
 * Rules the database holds as well as the code (core/settlement/README.md):
 *  - an invoice is in at most one live batch: a partial unique index on the link rows whose
 *    `released_at` is null (a rejection releases them);
 *  - approvals are append-only; UNIQUE(batch, admin) — the same admin never approves twice;
 *    UNIQUE(batch, content hash, ordinal) with ordinal 1 or 2 — so two approvals of one content
 *    are by two distinct admins; a trigger refuses the batch's closer, a non-admin, a batch that is
 *    not `closed`, and a content hash that is not the batch's;
 *  - a line's amounts and destination never change after the close; payout file records are
 *    append-only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const money = decimalType(db);
  const time = timeType(db);
  await db.schema
    .createTable('settlement_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('month', 'text', (c) => c.notNull()) // YYYY-MM (UTC)
    .addColumn('currency', 'text', (c) => c.notNull())
    // closed | approved | rejected | completed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('closed_by', 'text', (c) => c.notNull().references('staff.id'))
    .addColumn('closed_at', time, (c) => c.notNull())
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('total_minor', money, (c) => c.notNull())
    .addColumn('held_count', 'integer', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('approved_at', time)
    .addColumn('fx_rate_id', 'text')
    .addColumn('fx_rate', 'text')
    .addColumn('rejected_by', 'text')
    .addColumn('rejected_at', time)
    .addColumn('reject_reason', 'text')
    .addColumn('completed_at', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addCheckConstraint('settlement_batches_status', sql`status in ('closed', 'approved', 'rejected', 'completed')`)
    .execute();
  await db.schema.createIndex('settlement_batches_month').on('settlement_batches').columns(['environment', 'month', 'currency']).execute();

  await db.schema
    .createTable('settlement_lines')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('batch_id', 'text', (c) => c.notNull().references('settlement_batches.id'))
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('merchant_name', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('gross_minor', money, (c) => c.notNull())
    .addColumn('fees_minor', money, (c) => c.notNull())
    .addColumn('refunds_minor', money, (c) => c.notNull())
    .addColumn('net_minor', money, (c) => c.notNull())
    // What the CNY collected for these invoices (net of refunds) was: cleared at approval.
    .addColumn('collection_net_minor', money, (c) => c.notNull())
    .addColumn('invoice_count', 'integer', (c) => c.notNull())
    // bank | token
    .addColumn('destination_kind', 'text', (c) => c.notNull())
    // The full destination as of the close, sealed with the data key (AAD `settlement-line:<id>`).
    .addColumn('destination_enc', 'text', (c) => c.notNull())
    .addColumn('destination_masked', 'text', (c) => c.notNull())
    // pending | completed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('payout_tx_id', 'text')
    .addColumn('fx_difference_minor', money)
    .addColumn('completion_reference', 'text')
    .addColumn('completed_by', 'text')
    .addColumn('completed_at', time)
    .addColumn('completion_tx_id', 'text')
    .addCheckConstraint('settlement_lines_status', sql`status in ('pending', 'completed')`)
    .execute();
  await db.schema.createIndex('settlement_lines_batch').on('settlement_lines').columns(['batch_id', 'line_no']).unique().execute();
  await db.schema.createIndex('settlement_lines_merchant').on('settlement_lines').columns(['merchant_id', 'id']).execute();

  await db.schema
    .createTable('settlement_line_invoices')
    .addColumn('batch_id', 'text', (c) => c.notNull().references('settlement_batches.id'))
    .addColumn('line_id', 'text', (c) => c.notNull().references('settlement_lines.id'))
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.id'))
    .addColumn('gross_minor', money, (c) => c.notNull())
    .addColumn('fees_minor', money, (c) => c.notNull())
    .addColumn('refunds_minor', money, (c) => c.notNull())
    .addColumn('net_minor', money, (c) => c.notNull())
    .addColumn('collection_net_minor', money, (c) => c.notNull())
    .addColumn('released_at', time)
    .addPrimaryKeyConstraint('settlement_line_invoices_pk', ['line_id', 'invoice_id'])
    .execute();
  // An invoice is in at most one live batch; a rejection sets released_at and frees it.
  await db.schema.createIndex('settlement_line_invoices_one_live').on('settlement_line_invoices').column('invoice_id').unique().where(sql.ref('released_at'), 'is', null).execute();
  await db.schema.createIndex('settlement_line_invoices_batch').on('settlement_line_invoices').columns(['batch_id']).execute();

  await db.schema
    .createTable('settlement_held')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('batch_id', 'text', (c) => c.notNull().references('settlement_batches.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('merchant_name', 'text', (c) => c.notNull())
    // no_destination | merchant_suspended | destination_cooling_off | nothing_to_pay
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('net_minor', money, (c) => c.notNull())
    .addColumn('invoice_ids', 'text', (c) => c.notNull()) // JSON array
    .execute();
  await db.schema.createIndex('settlement_held_batch').on('settlement_held').columns(['batch_id']).execute();

  await db.schema
    .createTable('settlement_approvals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('batch_id', 'text', (c) => c.notNull().references('settlement_batches.id'))
    .addColumn('admin_id', 'text', (c) => c.notNull().references('staff.id'))
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('ordinal', 'integer', (c) => c.notNull())
    .addColumn('approved_at', time, (c) => c.notNull())
    .addCheckConstraint('settlement_approvals_ordinal', sql`ordinal in (1, 2)`)
    .addUniqueConstraint('settlement_approvals_one_per_admin', ['batch_id', 'admin_id'])
    .addUniqueConstraint('settlement_approvals_two_distinct', ['batch_id', 'content_hash', 'ordinal'])
    .execute();

  await db.schema
    .createTable('settlement_payout_files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('batch_id', 'text', (c) => c.notNull().references('settlement_batches.id'))
    // bank-csv | bank-summary | token-csv | pain001
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('byte_length', int64Type(db), (c) => c.notNull())
    // produced (at approval, content kept sealed) | exported (written again; no content)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('content_enc', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('settlement_payout_files_produced')
    .on('settlement_payout_files')
    .columns(['batch_id', 'format'])
    .unique()
    .where(sql.ref('kind'), '=', 'produced')
    .execute();

  const frozenLineColumns = [
    'batch_id',
    'line_no',
    'merchant_id',
    'merchant_name',
    'reference',
    'currency',
    'gross_minor',
    'fees_minor',
    'refunds_minor',
    'net_minor',
    'collection_net_minor',
    'invoice_count',
    'destination_kind',
    'destination_enc',
    'destination_masked',
  ];
  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION settlement_approval_rules() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE b RECORD; r TEXT;
      BEGIN
        SELECT status, closed_by, content_hash INTO b FROM settlement_batches WHERE id = NEW.batch_id;
        IF b.closed_by = NEW.admin_id THEN RAISE EXCEPTION 'settlement: the closer of a batch cannot approve it'; END IF;
        IF b.status <> 'closed' THEN RAISE EXCEPTION 'settlement: only a closed batch is approved'; END IF;
        IF b.content_hash <> NEW.content_hash THEN RAISE EXCEPTION 'settlement: an approval names the batch''s content hash'; END IF;
        SELECT role INTO r FROM staff WHERE id = NEW.admin_id;
        IF r IS DISTINCT FROM 'admin' THEN RAISE EXCEPTION 'settlement: only an admin approves'; END IF;
        RETURN NEW;
      END $$`.execute(db);
    await sql`CREATE TRIGGER settlement_approvals_rules BEFORE INSERT ON settlement_approvals FOR EACH ROW EXECUTE FUNCTION settlement_approval_rules()`.execute(db);
    await sql`
      CREATE FUNCTION settlement_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'settlement: % is append-only', TG_TABLE_NAME; END $$`.execute(db);
    for (const t of ['settlement_approvals', 'settlement_payout_files']) {
      for (const op of ['UPDATE', 'DELETE']) {
        await sql.raw(`CREATE TRIGGER ${t}_no_${op.toLowerCase()} BEFORE ${op} ON ${t} FOR EACH ROW EXECUTE FUNCTION settlement_append_only()`).execute(db);
      }
      await sql.raw(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION settlement_append_only()`).execute(db);
    }
    const changed = frozenLineColumns.map((c) => `NEW.${c} IS DISTINCT FROM OLD.${c}`).join(' OR ');
    await sql
      .raw(`
      CREATE FUNCTION settlement_line_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'settlement: lines are never deleted'; END IF;
        IF ${changed} THEN RAISE EXCEPTION 'settlement: a line''s amounts and destination are frozen at the close'; END IF;
        RETURN NEW;
      END $$`)
      .execute(db);
    await sql`CREATE TRIGGER settlement_lines_frozen BEFORE UPDATE OR DELETE ON settlement_lines FOR EACH ROW EXECUTE FUNCTION settlement_line_frozen()`.execute(db);
  } else {
    await sql`
      CREATE TRIGGER settlement_approvals_rules BEFORE INSERT ON settlement_approvals BEGIN
        SELECT RAISE(ABORT, 'settlement: the closer of a batch cannot approve it')
          WHERE (SELECT closed_by FROM settlement_batches WHERE id = NEW.batch_id) = NEW.admin_id;
        SELECT RAISE(ABORT, 'settlement: only a closed batch is approved')
          WHERE (SELECT status FROM settlement_batches WHERE id = NEW.batch_id) IS NOT 'closed';
        SELECT RAISE(ABORT, 'settlement: an approval names the batch''s content hash')
          WHERE (SELECT content_hash FROM settlement_batches WHERE id = NEW.batch_id) IS NOT NEW.content_hash;
        SELECT RAISE(ABORT, 'settlement: only an admin approves')
          WHERE (SELECT role FROM staff WHERE id = NEW.admin_id) IS NOT 'admin';
      END`.execute(db);
    for (const t of ['settlement_approvals', 'settlement_payout_files']) {
      for (const op of ['UPDATE', 'DELETE']) {
        await sql.raw(`CREATE TRIGGER ${t}_no_${op.toLowerCase()} BEFORE ${op} ON ${t} BEGIN SELECT RAISE(ABORT, 'settlement: ${t} is append-only'); END`).execute(db);
      }
    }
    await sql
      .raw(`CREATE TRIGGER settlement_lines_frozen BEFORE UPDATE OF ${frozenLineColumns.join(', ')} ON settlement_lines BEGIN
        SELECT RAISE(ABORT, 'settlement: a line''s amounts and destination are frozen at the close'); END`)
      .execute(db);
    await sql`CREATE TRIGGER settlement_lines_no_delete BEFORE DELETE ON settlement_lines BEGIN SELECT RAISE(ABORT, 'settlement: lines are never deleted'); END`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['settlement_payout_files', 'settlement_approvals', 'settlement_held', 'settlement_line_invoices', 'settlement_lines', 'settlement_batches']) {
    await db.schema.dropTable(t).execute();
  }
  if (isPostgres(db)) {
    for (const f of ['settlement_approval_rules', 'settlement_append_only', 'settlement_line_frozen']) await sql.raw(`DROP FUNCTION IF EXISTS ${f}()`).execute(db);
  }
}
