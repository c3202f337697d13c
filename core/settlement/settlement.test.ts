import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, type TestStaff, openHarness } from '../backoffice/testing/harness.js';
import { listEvents } from '../events/index.js';
import { FxRateInput, setFxRate } from '../fx/index.js';
import { ledgerBalances } from '../ledger/index.js';
import { signup } from '../merchants/accounts.js';
import { applyChannelNotification, createCheckout, createRefund } from '../payments/index.js';
import { fakeChannels, finalizedInvoices } from '../payments/testing.js';
import { setBankAccountForTest, setReceivingAddressForTest } from './testing.js';

/**
 * The full month: usage → invoices → payments → a partial refund → close → approvals →
 * payout files → completion → ledger verified and every merchant payable back to zero.
 */

const FORMULA = '=HYPERLINK("http://x","y")';
const CJK = '深圳示例科技有限公司';

const decode = (r: { ok: boolean; data?: { contentBase64: string } }): string => Buffer.from(r.data!.contentBase64, 'base64').toString('utf8');

describe('monthly settlement, end to end', () => {
  let h: Harness;
  let finance: TestStaff;
  let admin1: TestStaff;
  let admin2: TestStaff;
  let admin3: TestStaff;
  const m: Record<'formula' | 'cjk' | 'suspended' | 'nobank' | 'token', string> = { formula: '', cjk: '', suspended: '', nobank: '', token: '' };
  const inv: Record<string, string> = {};
  let fake: ReturnType<typeof fakeChannels>;

  beforeEach(async () => {
    h = await openHarness();
    fake = fakeChannels();
    const names = { formula: FORMULA, cjk: CJK, suspended: 'Paused Ltd', nobank: 'No Bank Ltd', token: 'Chain Co' };
    for (const [k, name] of Object.entries(names)) {
      m[k as keyof typeof m] = (await signup(h.ctx, { name, email: `${k}@merchant.test`, password: 'merchant password' } as never)).id;
    }
    // Destinations set long before the month: no cooling-off.
    const longAgo = '2026-01-01T00:00:00.000Z';
    await setBankAccountForTest(
      h.ctx,
      m.formula,
      { holderName: FORMULA, iban: 'DE89 3704 0044 0532 0130 00', bankName: 'Commerzbank, Köln', swiftBic: 'COBADEFFXXX', currency: 'USD' },
      { changedAt: longAgo },
    );
    await setBankAccountForTest(
      h.ctx,
      m.cjk,
      { holderName: CJK, accountNumber: '6222020200112233', bankName: '中国工商银行深圳分行', cnapsCode: '102584000002', currency: 'USD' },
      { changedAt: longAgo },
    );
    await setBankAccountForTest(h.ctx, m.suspended, { holderName: 'Paused Ltd', accountNumber: '99887766', bankName: 'DBS', swiftBic: 'DBSSSGSG', currency: 'USD' });
    await setReceivingAddressForTest(h.ctx, m.token, '0x52908400098527886e0f7030069857d2e4169ee7');
    await setFxRate(h.ctx, FxRateInput.parse({ from: 'USD', to: 'USDC', rate: '1', effectiveAt: '2026-01-01T00:00:00Z' }), null);

    // Usage of May 2026 → one invoice each (1,000 runs at 10 cents = 100.00 USD = 712.34 CNY).
    const ids = await finalizedInvoices(h.ctx, h.clock, [
      { merchantId: m.formula, customer: 'f1', settlementCurrency: 'USD' },
      { merchantId: m.cjk, customer: 'c1', settlementCurrency: 'USD' },
      { merchantId: m.suspended, customer: 's1', settlementCurrency: 'USD' },
      { merchantId: m.nobank, customer: 'n1', settlementCurrency: 'USD' },
      { merchantId: m.token, customer: 't1', settlementCurrency: 'USDC' },
    ]);
    [inv.formula, inv.cjk, inv.suspended, inv.nobank, inv.token] = ids;
    // Collected in June (the fake channel pays at 2026-06-02T00:05Z).
    for (const [k, invoiceId] of Object.entries(inv)) {
      const merchantId = m[k as keyof typeof m];
      const order = await createCheckout(h.ctx, fake.registry, {
        merchantId,
        environment: 'live',
        invoiceId,
        channel: 'wechat',
        notifyUrl: (c) => `https://pay.example/api/webhooks/${c}`,
        hostedUrl: (t) => `https://pay.example/checkout/${t}`,
      });
      const row = await h.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
      await applyChannelNotification(h.ctx, fake.wechat.pay(row.out_trade_no));
    }
    // A partial refund: 200.00 of 712.34 CNY.
    h.clock.set('2026-06-10T08:00:00.000Z');
    await createRefund(h.ctx, fake.registry, {
      invoiceId: inv.formula,
      amountMinor: '20000',
      reason: 'customer asked',
      actor: null,
      notifyUrl: () => 'https://pay.example/refunds',
    });

    // July 1st: the rate in force when the batch is approved differs from the invoices' 7.1234.
    h.clock.set('2026-07-01T09:00:00.000Z');
    await setFxRate(h.ctx, FxRateInput.parse({ from: 'CNY', to: 'USD', rate: '0.1420', effectiveAt: '2026-07-01T00:00:00Z' }), null);
    await setFxRate(h.ctx, FxRateInput.parse({ from: 'CNY', to: 'USDC', rate: '0.1400', effectiveAt: '2026-07-01T00:00:00Z' }), null);
    finance = await h.staff('finance', 'finance@buffmoney.test');
    admin1 = await h.staff('admin', 'admin1@buffmoney.test');
    admin2 = await h.staff('admin', 'admin2@buffmoney.test');
    admin3 = await h.staff('admin', 'admin3@buffmoney.test');
    await h.db.kysely.updateTable('merchants').set({ status: 'suspended' }).where('id', '=', m.suspended).execute();
  });
  afterEach(async () => h.close());
  /** A command's result, loosely typed: the test reads its data after checking it. */
  const run = (...args: Parameters<Harness['run']>): Promise<any> => h.run(...args);

  it('closes, approves with two distinct admins, produces exact files, completes, and leaves the books clean', async () => {
    // ---- preview and close (an admin closes this one: the closer may then not approve)
    const preview = await run(admin1, 'settlement:preview', { month: '2026-06', currency: 'USD' });
    expect(preview).toMatchObject({ ok: true, data: { lineCount: 2, totalMinor: '17055' } });
    expect(await run(admin1, 'settlement:close', { month: '2026-07', currency: 'USD' })).toMatchObject({ ok: false, error: { code: 'settlement_month_open' } });
    const closed = await run(admin1, 'settlement:close', { month: '2026-06', currency: 'USD' });
    expect(closed.ok).toBe(true);
    const first = closed.data;
    // 100.00 USD gross, 0.80 fee, 99.20 net each; the refund took back 200.00/712.34 of the
    // formula merchant's net (27.85) and fee (0.22): refunds 28.07, fee kept 0.58, net 71.35.
    expect(first).toMatchObject({ status: 'closed', lineCount: 2, totalMinor: '17055', total: '170.55', heldCount: 2, closedBy: admin1.id });
    expect(
      first.lines.map((l: any) => [l.merchantName, l.grossMinor, l.feesMinor, l.refundsMinor, l.netMinor, l.collectionNetMinor, l.invoices.map((i: any) => i.invoiceId)]).sort(),
    ).toEqual(
      [
        [FORMULA, '10000', '58', '2807', '7135', '51234', [inv.formula]],
        [CJK, '10000', '80', '0', '9920', '71234', [inv.cjk]],
      ].sort(),
    );
    expect(first.held.map((x: any) => [x.merchantId, x.reason, x.netMinor]).sort()).toEqual(
      [
        [m.suspended, 'merchant_suspended', '9920'],
        [m.nobank, 'no_destination', '9920'],
      ].sort(),
    );
    // an invoice is in one live batch only: closing again finds nothing new but the held-back
    const again = await run(admin1, 'settlement:close', { month: '2026-06', currency: 'USD' });
    expect(again.ok && again.data.lines).toEqual([]);
    await run(admin1, 'settlement:reject', { batch: again.data.id, reason: 'only the held-back merchants' });

    // ---- approvals
    expect(await run(finance, 'settlement:approve', { batch: first.id }, finance.nextOtp())).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
    expect(await run(admin1, 'settlement:approve', { batch: first.id }, admin1.nextOtp())).toMatchObject({ ok: false, error: { code: 'approval_closer' } });
    expect(await run(admin2, 'settlement:approve', { batch: first.id }, '000000')).toMatchObject({ ok: false, error: { code: 'otp_invalid' } });
    expect(await run(admin2, 'settlement:approve', { batch: first.id, hash: first.contentHash }, admin2.nextOtp())).toMatchObject({
      ok: true,
      data: { approvals: 1, executed: false },
    });
    expect(await run(admin2, 'settlement:approve', { batch: first.id }, admin2.nextOtp())).toMatchObject({ ok: false, error: { code: 'approval_same_admin' } });
    // an invoice gathered into a live batch cannot be refunded: its net is promised to the payout
    const refundInBatch = createRefund(h.ctx, fake.registry, {
      invoiceId: inv.cjk,
      amountMinor: '100',
      reason: 'late',
      actor: null,
      notifyUrl: () => 'https://pay.example/refunds',
    });
    await expect(refundInBatch).rejects.toMatchObject({ code: 'invoice_in_settlement', details: { batchId: first.id, batchStatus: 'closed' } });
    expect(await h.db.kysely.selectFrom('refunds').select('id').where('invoice_id', '=', inv.cjk).execute()).toEqual([]);
    // a code once used (here by a refused approval of a hash the admin did not see) is never taken again
    const used = admin3.nextOtp();
    expect(await run(admin3, 'settlement:approve', { batch: first.id, hash: 'f'.repeat(64) }, used)).toMatchObject({ ok: false, error: { code: 'approval_hash_mismatch' } });
    expect(await run(admin3, 'settlement:approve', { batch: first.id }, used)).toMatchObject({ ok: false, error: { code: 'otp_invalid' } });
    // rows changed behind the batch's back no longer match its content hash: refused
    const link = await h.db.kysely.selectFrom('settlement_line_invoices').selectAll().where('invoice_id', '=', inv.cjk).where('batch_id', '=', first.id).executeTakeFirstOrThrow();
    await h.db.kysely.updateTable('settlement_line_invoices').set({ net_minor: '9921' }).where('invoice_id', '=', inv.cjk).where('batch_id', '=', first.id).execute();
    expect(await run(admin3, 'settlement:approve', { batch: first.id }, admin3.nextOtp())).toMatchObject({ ok: false, error: { code: 'settlement_batch_changed' } });
    await h.db.kysely.updateTable('settlement_line_invoices').set({ net_minor: link.net_minor }).where('invoice_id', '=', inv.cjk).where('batch_id', '=', first.id).execute();
    // a reopened and re-closed batch needs fresh approvals: admin2's approval stays with the old one
    expect(await run(finance, 'settlement:reject', { batch: first.id, reason: 'reviewing the refund first' })).toMatchObject({ ok: true, data: { status: 'rejected' } });
    expect(await run(admin3, 'settlement:approve', { batch: first.id }, admin3.nextOtp())).toMatchObject({ ok: false, error: { code: 'settlement_not_closed' } });
    const reclosed = await run(finance, 'settlement:close', { month: '2026-06', currency: 'USD' });
    expect(reclosed).toMatchObject({ ok: true, data: { status: 'closed', lineCount: 2, totalMinor: '17055', approvals: [] } });
    const batch = reclosed.data;
    expect(batch.contentHash).not.toBe(first.contentHash);
    expect(await run(admin2, 'settlement:approve', { batch: batch.id, hash: batch.contentHash }, admin2.nextOtp())).toMatchObject({
      ok: true,
      data: { approvals: 1, executed: false },
    });
    const approved = await run(admin3, 'settlement:approve', { batch: batch.id, hash: batch.contentHash }, admin3.nextOtp());
    expect(approved).toMatchObject({ ok: true, data: { approvals: 2, executed: true, batch: { status: 'approved', fxRate: '0.142' } } });
    expect(approved.data.batch.approvals.map((a: any) => [a.adminEmail, a.current])).toEqual([
      ['admin2@buffmoney.test', true],
      ['admin3@buffmoney.test', true],
    ]);
    // FX: 512.34 CNY → 72.75 USD against 71.93 (gross 100.00 − refunds 28.07): +0.82; 712.34 → 101.15 vs 100.00: +1.15
    const fx = Object.fromEntries(approved.data.batch.lines.map((l: any) => [l.merchantName, l.fxDifferenceMinor]));
    expect(fx).toEqual({ [FORMULA]: '82', [CJK]: '115' });

    // ---- files, exactly
    const lines = Object.fromEntries(batch.lines.map((l: any) => [l.merchantName, l]));
    const bankCsv = await run(finance, 'settlement:export', { batch: batch.id });
    expect(bankCsv).toMatchObject({ ok: true, data: { format: 'bank-csv' } });
    const rows = [lines[FORMULA], lines[CJK]].sort((a, b) => a.lineNo - b.lineNo);
    const row = (l: any) =>
      l.merchantName === FORMULA
        ? `${l.reference},"'=HYPERLINK(""http://x"",""y"")",DE89370400440532013000,"Commerzbank, Köln",COBADEFFXXX,71.35,USD,"BuffMoney settlement 2026-06 =HYPERLINK(""http://x"",""y"")"`
        : `${l.reference},${CJK},6222020200112233,中国工商银行深圳分行,102584000002,99.20,USD,BuffMoney settlement 2026-06 ${CJK}`;
    expect(decode(bankCsv)).toBe(`reference,beneficiary_name,account_number,bank_name,bank_code,amount,currency,remark\r\n${rows.map(row).join('\r\n')}\r\n`);
    const summary = await run(finance, 'settlement:export', { batch: batch.id, format: 'bank-summary' });
    expect(decode(summary)).toBe(`batch,month,currency,line_count,total\r\n${batch.id},2026-06,USD,2,170.55\r\n`);
    // byte-identical again, and each export recorded with its hash
    const bankAgain = await run(admin1, 'settlement:export', { batch: batch.id, format: 'bank-csv' });
    expect(bankAgain.data.contentBase64).toBe(bankCsv.data.contentBase64);
    expect(bankAgain.data.sha256).toBe(bankCsv.data.sha256);
    const pain = decode(await run(finance, 'settlement:export', { batch: batch.id, format: 'pain001' }));
    const at = approved.data.batch.approvedAt as string;
    const [lf, lc] = [lines[FORMULA], lines[CJK]];
    const tx = (l: any, amount: string, agent: string, name: string, account: string) => `      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>${l.reference}</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="USD">${amount}</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
${agent}
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>${name}</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
${account}
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>BuffMoney settlement 2026-06 ${l.reference}</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
`;
    const txs = [
      [lf.lineNo, tx(lf, '71.35', '            <BICFI>COBADEFFXXX</BICFI>', '=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)', '            <IBAN>DE89370400440532013000</IBAN>')],
      [
        lc.lineNo,
        tx(
          lc,
          '99.20',
          `            <ClrSysMmbId>\n              <MmbId>102584000002</MmbId>\n            </ClrSysMmbId>\n            <Nm>中国工商银行深圳分行</Nm>`,
          CJK,
          '            <Othr>\n              <Id>6222020200112233</Id>\n            </Othr>',
        ),
      ],
    ]
      .sort((a: any, b: any) => a[0] - b[0])
      .map((x) => x[1])
      .join('');
    expect(pain).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>${batch.id}</MsgId>
      <CreDtTm>${at.replace(/\.\d{3}Z$/, 'Z')}</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>170.55</CtrlSum>
      <InitgPty>
        <Nm>BuffMoney</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>${batch.id}-1</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>170.55</CtrlSum>
      <ReqdExctnDt>
        <Dt>2026-07-01</Dt>
      </ReqdExctnDt>
      <Dbtr>
        <Nm>BuffMoney</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <Othr>
            <Id>NOTPROVIDED</Id>
          </Othr>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <Othr>
            <Id>NOTPROVIDED</Id>
          </Othr>
        </FinInstnId>
      </DbtrAgt>
${txs}    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
`);
    const shown = await run(finance, 'settlement:show', { batch: batch.id });
    expect(shown.data.files.filter((f: any) => f.kind === 'produced').map((f: any) => f.format)).toEqual(['bank-csv', 'bank-summary', 'pain001']);
    expect(shown.data.files.filter((f: any) => f.kind === 'exported')).toHaveLength(4);
    expect(shown.data.files.find((f: any) => f.kind === 'produced' && f.format === 'bank-csv').sha256).toBe(bankCsv.data.sha256);

    // ---- completion: one line, then the rest
    expect(await run(finance, 'settlement:complete', { batch: batch.id, line: lines[CJK].id, reference: 'ICBC-20260702-1' })).toMatchObject({
      ok: true,
      data: { status: 'approved' },
    });
    expect(await run(finance, 'settlement:complete', { batch: batch.id, line: lines[CJK].id, reference: 'again' })).toMatchObject({
      ok: false,
      error: { code: 'payout_already_completed' },
    });
    expect(await run(finance, 'settlement:complete', { batch: batch.id, reference: 'CBK-20260702-7' })).toMatchObject({ ok: true, data: { status: 'completed' } });
    const events = await listEvents(h.ctx, { type: 'payout.completed', limit: 10 });
    expect(events.map((e) => [e.merchant, (e.data as any).amountMinor, (e.data as any).completionReference, (e.data as any).invoices.map((i: any) => i.invoiceId)])).toEqual([
      [m.cjk, '9920', 'ICBC-20260702-1', [inv.cjk]],
      [m.formula, '7135', 'CBK-20260702-7', [inv.formula]],
    ]);

    // ---- the USDC batch: a token CSV with the EIP-55 receiver (finance closes, two admins approve)
    const usdc = await run(finance, 'settlement:close', { month: '2026-06', currency: 'USDC' });
    expect(usdc).toMatchObject({ ok: true, data: { lineCount: 1, totalMinor: '99200000', total: '99.200000' } });
    await run(admin1, 'settlement:approve', { batch: usdc.data.id }, admin1.nextOtp());
    expect(await run(admin2, 'settlement:approve', { batch: usdc.data.id }, admin2.nextOtp())).toMatchObject({ ok: true, data: { executed: true } });
    const token = await run(finance, 'settlement:export', { batch: usdc.data.id });
    expect(decode(token)).toBe(
      `token_type,token_address,receiver,amount,id\r\nerc20,0xaf88d065e77c8cC2239327C5EDb3A432268e5831,0x52908400098527886E0F7030069857D2E4169EE7,99.200000,${usdc.data.lines[0].reference}\r\n`,
    );
    await run(finance, 'settlement:complete', { batch: usdc.data.id, reference: `0x${'ab'.repeat(32)}` });

    // ---- the held-back merchants, once reactivated and given an account, settle in a later batch
    await h.db.kysely.updateTable('merchants').set({ status: 'active' }).where('id', '=', m.suspended).execute();
    await setBankAccountForTest(
      h.ctx,
      m.nobank,
      { holderName: 'No Bank Ltd', accountNumber: '11223344', bankName: 'OCBC', swiftBic: 'OCBCSGSG', currency: 'USD' },
      { changedAt: '2026-06-01T00:00:00.000Z' },
    );
    const later = await run(finance, 'settlement:close', { month: '2026-06', currency: 'USD' });
    expect(later).toMatchObject({ ok: true, data: { lineCount: 2, heldCount: 0, totalMinor: '19840' } });
    await run(admin1, 'settlement:approve', { batch: later.data.id }, admin1.nextOtp());
    await run(admin2, 'settlement:approve', { batch: later.data.id }, admin2.nextOtp());
    await run(finance, 'settlement:complete', { batch: later.data.id, reference: 'DBS-20260703-2' });

    // ---- the books: verified, and every merchant's payable back to zero
    expect(await run(finance, 'ledger:verify')).toMatchObject({ ok: true, data: { intact: true } });
    const payables = await ledgerBalances(h.ctx, { type: 'merchant_payable', environment: 'live' });
    expect(payables).toHaveLength(5);
    for (const p of payables) expect(p.balanceMinor, p.code).toBe('0');
    const clearing = await ledgerBalances(h.ctx, { type: 'payout_clearing', environment: 'live' });
    for (const p of clearing) expect(p.balanceMinor, p.code).toBe('0');
    const fxPosition = await ledgerBalances(h.ctx, { type: 'fx_position', environment: 'live' });
    for (const p of fxPosition) expect(p.balanceMinor, p.code).toBe('0');
  });

  it('holds back a destination changed inside the cooling-off window, and an invoice with a refund in flight', async () => {
    // the formula merchant changed its bank account an hour ago; the CJK merchant has a refund still pending at the channel (written as the payments core leaves it)
    await setBankAccountForTest(
      h.ctx,
      m.formula,
      { holderName: 'New Holder', accountNumber: '55554444', bankName: 'DBS', swiftBic: 'DBSSSGSG', currency: 'USD' },
      { changedAt: '2026-07-01T08:00:00.000Z' },
    );
    await h.db.kysely
      .insertInto('refunds')
      .values({
        id: 'rf_01kwpendingrefund0000000000',
        invoice_id: inv.cjk,
        payment_id: (await h.db.kysely.selectFrom('payments').select('id').where('invoice_id', '=', inv.cjk).executeTakeFirstOrThrow()).id,
        merchant_id: m.cjk,
        environment: 'live',
        channel: 'wechat',
        out_refund_no: 'RF-PENDING-1',
        amount_minor: '100',
        currency: 'CNY',
        reason: 'customer asked',
        status: 'pending',
        channel_refund_id: null,
        failure_reason: null,
        requested_by: null,
        ledger_tx_id: null,
        created_at: h.clock.now().toISOString(),
        updated_at: h.clock.now().toISOString(),
        succeeded_at: null,
      })
      .execute();
    const preview = await run(finance, 'settlement:preview', { month: '2026-06', currency: 'USD' });
    expect(preview).toMatchObject({ ok: true, data: { lineCount: 0, totalMinor: '0' } });
    expect(preview.data.held.map((x: any) => [x.merchantId, x.reason, x.invoiceIds]).sort()).toEqual(
      [
        [m.formula, 'destination_cooling_off', [inv.formula]],
        [m.cjk, 'refund_in_flight', [inv.cjk]],
        [m.suspended, 'merchant_suspended', [inv.suspended]],
        [m.nobank, 'no_destination', [inv.nobank]],
      ].sort(),
    );
    expect(preview.data.held.find((x: any) => x.reason === 'destination_cooling_off').detail).toContain('2026-07-04T08:00:00.000Z');
  });

  it('pays tokens to a V2 receiver only while the registration is active, and (live) only one registered on Arbitrum One', async () => {
    const v2 = (chainId: number, active: number) =>
      h.db.kysely
        .updateTable('merchants')
        .set({
          on_chain_merchant_id: '7',
          chain_id: chainId,
          chain_active: active,
          receiver_address: '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
          registered_at: '2026-01-01T00:00:00.000Z',
        })
        .where('id', '=', m.token)
        .execute();
    const tokenLine = async () => {
      const p = await run(finance, 'settlement:preview', { month: '2026-06', currency: 'USDC' });
      expect(p.ok).toBe(true);
      return { line: p.data.lines.find((l: any) => l.merchantId === m.token), held: p.data.held.find((x: any) => x.merchantId === m.token) };
    };
    await v2(42161, 0);
    expect((await tokenLine()).held).toMatchObject({ reason: 'registration_inactive', detail: 'On-chain registration #7 is deactivated on chain 42161' });
    await v2(421614, 1);
    expect((await tokenLine()).held).toMatchObject({ reason: 'receiver_chain_unsupported' });
    await v2(42161, 1);
    const paid = await tokenLine();
    expect(paid.held).toBeUndefined();
    expect(paid.line.destination).toMatchObject({ kind: 'token', receiver: '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359' });
  });
});
