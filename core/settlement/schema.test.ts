import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, type TestStaff, openHarness } from '../backoffice/testing/harness.js';
import { isUniqueViolation } from '../db/errors.js';
import { signup } from '../merchants/accounts.js';
import { finalizedInvoices } from '../payments/testing.js';

/**
 * The settlement rules the database holds by itself (migration 0020), tried with direct writes
 * that skip core/settlement entirely.
 */
describe('settlement tables refuse what the rules forbid', () => {
  let h: Harness;
  let closer: TestStaff;
  let admin2: TestStaff;
  let admin3: TestStaff;
  let finance: TestStaff;
  let invoiceId: string;
  let merchantId: string;
  const batchId = 'stb_01kwdbrules000000000000000';
  const hash = 'a'.repeat(64);

  beforeEach(async () => {
    h = await openHarness();
    merchantId = (await signup(h.ctx, { name: 'Rules Co', email: 'rules@merchant.test', password: 'merchant password' } as never)).id;
    [invoiceId] = await finalizedInvoices(h.ctx, h.clock, [{ merchantId, customer: 'r1' }]);
    closer = await h.staff('admin');
    admin2 = await h.staff('admin');
    admin3 = await h.staff('admin');
    finance = await h.staff('finance');
    const now = h.clock.now().toISOString();
    await h.db.kysely
      .insertInto('settlement_batches')
      .values({
        id: batchId,
        environment: 'live',
        month: '2026-06',
        currency: 'USD',
        status: 'closed',
        closed_by: closer.id,
        closed_at: now,
        line_count: 1,
        total_minor: '9920',
        held_count: 0,
        content_hash: hash,
        approved_at: null,
        fx_rate_id: null,
        fx_rate: null,
        rejected_by: null,
        rejected_at: null,
        reject_reason: null,
        completed_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await h.db.kysely
      .insertInto('settlement_lines')
      .values({
        id: 'stl_01kwdbrules000000000000000',
        batch_id: batchId,
        line_no: 1,
        merchant_id: merchantId,
        merchant_name: 'Rules Co',
        reference: 'BM-RULES',
        currency: 'USD',
        gross_minor: '10000',
        fees_minor: '80',
        refunds_minor: '0',
        net_minor: '9920',
        collection_net_minor: '71234',
        invoice_count: 1,
        destination_kind: 'bank',
        destination_enc: 'sealed',
        destination_masked: '{}',
        status: 'pending',
        payout_tx_id: null,
        fx_difference_minor: null,
        completion_reference: null,
        completed_by: null,
        completed_at: null,
        completion_tx_id: null,
      })
      .execute();
  });
  afterEach(async () => h.close());

  const approve = (adminId: string, ordinal: number, contentHash = hash, id = `sta_${adminId.slice(4)}${ordinal}`) =>
    h.db.kysely
      .insertInto('settlement_approvals')
      .values({ id, batch_id: batchId, admin_id: adminId, content_hash: contentHash, ordinal, approved_at: h.clock.now().toISOString() })
      .execute();

  it('refuses an approval by the closer, by a non-admin, of another content hash, and the same admin twice', async () => {
    await expect(approve(closer.id, 1)).rejects.toThrow(/closer of a batch cannot approve/);
    await expect(approve(finance.id, 1)).rejects.toThrow(/only an admin approves/);
    await expect(approve(admin2.id, 1, 'b'.repeat(64))).rejects.toThrow(/content hash/);
    await approve(admin2.id, 1);
    // the same admin again, whatever the ordinal
    const again = await approve(admin2.id, 2).catch((e) => e);
    expect(isUniqueViolation(again)).toBe(true);
    // a second approval of the same content in the same place: refused; only ordinal 2, by another admin
    expect(isUniqueViolation(await approve(admin3.id, 1).catch((e) => e))).toBe(true);
    await expect(approve(admin3.id, 3)).rejects.toThrow();
    await approve(admin3.id, 2);
    expect(await h.db.kysely.selectFrom('settlement_approvals').select('admin_id').where('batch_id', '=', batchId).orderBy('ordinal').execute()).toEqual([
      { admin_id: admin2.id },
      { admin_id: admin3.id },
    ]);
  });

  it('refuses an approval of a batch that is not closed', async () => {
    await h.db.kysely.updateTable('settlement_batches').set({ status: 'rejected' }).where('id', '=', batchId).execute();
    await expect(approve(admin2.id, 1)).rejects.toThrow(/only a closed batch/);
  });

  it('keeps approvals and payout file records append-only', async () => {
    await approve(admin2.id, 1);
    await expect(
      h.db.kysely
        .updateTable('settlement_approvals')
        .set({ content_hash: 'c'.repeat(64) })
        .execute(),
    ).rejects.toThrow(/append-only/);
    await expect(h.db.kysely.deleteFrom('settlement_approvals').execute()).rejects.toThrow(/append-only/);
    await h.db.kysely
      .insertInto('settlement_payout_files')
      .values({
        id: 'spf_1',
        batch_id: batchId,
        format: 'bank-csv',
        file_name: 'f.csv',
        sha256: hash,
        byte_length: 1,
        kind: 'produced',
        content_enc: null,
        created_by: null,
        created_at: h.clock.now().toISOString(),
      })
      .execute();
    await expect(
      h.db.kysely
        .updateTable('settlement_payout_files')
        .set({ sha256: 'd'.repeat(64) })
        .execute(),
    ).rejects.toThrow(/append-only/);
    await expect(h.db.kysely.deleteFrom('settlement_payout_files').execute()).rejects.toThrow(/append-only/);
  });

  it('freezes a line’s amounts and destination, but lets its payout status move', async () => {
    await expect(h.db.kysely.updateTable('settlement_lines').set({ net_minor: '99999' }).execute()).rejects.toThrow(/frozen/);
    await expect(h.db.kysely.updateTable('settlement_lines').set({ destination_enc: 'other' }).execute()).rejects.toThrow(/frozen/);
    await expect(h.db.kysely.deleteFrom('settlement_lines').execute()).rejects.toThrow(/never deleted/);
    await h.db.kysely.updateTable('settlement_lines').set({ status: 'completed', completion_reference: 'REF' }).execute();
  });

  it('holds an invoice in one live batch at most, until a rejection releases it', async () => {
    const link = (lineId: string) => ({
      batch_id: batchId,
      line_id: lineId,
      invoice_id: invoiceId,
      gross_minor: '10000',
      fees_minor: '80',
      refunds_minor: '0',
      net_minor: '9920',
      collection_net_minor: '71234',
      released_at: null,
    });
    await h.db.kysely.insertInto('settlement_line_invoices').values(link('stl_01kwdbrules000000000000000')).execute();
    await h.db.kysely
      .insertInto('settlement_lines')
      .values({
        ...(await h.db.kysely.selectFrom('settlement_lines').selectAll().executeTakeFirstOrThrow()),
        id: 'stl_01kwdbrules000000000000001',
        line_no: 2,
        reference: 'BM-RULES-2',
      })
      .execute();
    expect(
      isUniqueViolation(
        await h.db.kysely
          .insertInto('settlement_line_invoices')
          .values(link('stl_01kwdbrules000000000000001'))
          .execute()
          .catch((e) => e),
      ),
    ).toBe(true);
    await h.db.kysely.updateTable('settlement_line_invoices').set({ released_at: h.clock.now().toISOString() }).execute();
    await h.db.kysely.insertInto('settlement_line_invoices').values(link('stl_01kwdbrules000000000000001')).execute();
  });
});
