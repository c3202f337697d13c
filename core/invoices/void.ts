import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { reverseLedgerTransaction } from '../ledger/index.js';
import { type InvoiceView, loadInvoiceView } from './view.js';

/** Statuses in which nothing has been collected yet, so the invoice may still be voided. */
export const VOIDABLE_STATUSES = ['finalized', 'payment_pending'] as const;

/**
 * Voids an unpaid invoice: its status becomes `void`, its finalization posting is reversed (a new
 * transaction, never an edit) and `invoice.voided` is announced — all in one transaction. The
 * period stays closed for usage: a void is a correction of that invoice, not a reopening.
 */
export async function voidInvoice(ctx: CoreContext, invoiceId: string, reason: string, actor: string | null): Promise<InvoiceView> {
  return inTransaction(ctx, async (tx) => {
    const row = await tx.db.kysely
      .selectFrom('invoices')
      .select(['id', 'merchant_id', 'environment', 'status', 'ledger_tx_id', 'invoice_number'])
      .where('id', '=', invoiceId)
      .executeTakeFirst();
    if (!row) throw notFound('invoice_not_found', `No invoice ${invoiceId}`);
    if (!(VOIDABLE_STATUSES as readonly string[]).includes(row.status)) {
      throw conflict('invoice_not_voidable', `Invoice ${row.invoice_number} is ${row.status}; only an unpaid invoice (finalized, payment pending) can be voided`, {
        status: row.status,
      });
    }
    const now = tx.clock.now().toISOString();
    const updated = await tx.db.kysely
      .updateTable('invoices')
      .set({ status: 'void', voided_at: now, void_reason: reason, updated_at: now })
      .where('id', '=', invoiceId)
      .where('status', '=', row.status)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw conflict('invoice_changed', 'The invoice changed while voiding it; try again');
    if (row.ledger_tx_id) {
      await reverseLedgerTransaction(tx, row.ledger_tx_id, { idempotencyKey: `invoice:${invoiceId}:voided`, reason, postedBy: actor, kind: 'invoice.voided' });
    }
    const scope = { merchantId: row.merchant_id, environment: row.environment };
    const view = await loadInvoiceView(tx, scope, invoiceId);
    await recordEvent(tx, { type: 'invoice.voided', merchantId: row.merchant_id, environment: row.environment, data: view });
    return view;
  });
}
