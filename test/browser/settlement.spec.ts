import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { type Browser, type Page, expect, test } from '@playwright/test';
import { type Staff, screenshotter, signIn, startSpecServer } from './helpers.js';

/**
 * The Settlement screen end to end (test/browser/serve-settlement.ts): an admin previews June 2026
 * in USD (two merchants gathered, one held back with the reason in words) and closes the batch; the
 * closer is refused approval; admin A approves with a fresh code (1 of 2) and is refused a second
 * time; a finance officer sees that only admins approve; admin B, in a session of their own,
 * approves (2 of 2) with the same content hash in the dialog; finance exports the bank CSV and its
 * summary through downloads whose bytes are checked exactly (a formula name neutralised, CJK
 * intact, exact decimals, the control totals), then completes the lines with bank references.
 * Home's card names the batch waiting for approval. Every staff member in a browser context of
 * their own. Screenshots: /tmp/settle-*.png.
 */

interface Info {
  url: string;
  staff: Record<'closer' | 'approverA' | 'approverB' | 'finance', Staff>;
  merchants: Record<'formula' | 'cjk' | 'held', string>;
}

const FORMULA = '=HYPERLINK("http://x","y")';
const CJK = '北京智谱科技有限公司';
const HELD = 'Hollow Labs';

let server: Awaited<ReturnType<typeof startSpecServer<Info>>> | undefined;
let info: Info;

test.beforeAll(async () => {
  server = await startSpecServer<Info>('test/browser/serve-settlement.ts', 90_000);
  info = server.info;
});
test.afterAll(async () => server?.stop());

const houseShot = screenshotter('settlement-');
const shot = async (page: Page, name: string) => {
  await houseShot(page, name);
  await page.screenshot({ path: `/tmp/settle-${name}.png`, fullPage: true });
};

/** A staff member signed in in a browser context of their own (their own session cookie). */
async function session(browser: Browser, who: Staff) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const code = await signIn(page, info.url, who);
  return { context, page, code };
}

/** The batch page's Approve dialog, code typed, submitted. */
async function approve(page: Page, code: () => Promise<string>) {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
  return dialog;
}

test('Settlement: close with held-back reasons, two-admin approval bound to the hash, exact payout files, completion', async ({ browser }) => {
  test.setTimeout(240_000);

  // ---- An admin previews June 2026 in USD and closes the batch.
  const closer = await session(browser, info.staff.closer);
  const page = closer.page;
  await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Settlement' }).click();
  await expect(page.getByRole('heading', { name: 'Settlement', exact: true })).toBeVisible();
  await page.getByRole('link', { name: 'Close a batch' }).click();
  await page.getByLabel('Month (YYYY-MM)').fill('2026-06');
  await page.getByLabel('Settlement currency').selectOption('USD');
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('preview-summary')).toHaveText('2 merchant line(s) to gather, 685.67 USD in total; 1 held back.');
  const gathered = page.getByRole('table', { name: 'Lines the close would gather' });
  const formulaPreview = gathered.getByRole('row').filter({ hasText: FORMULA });
  // 1,234 runs at 10 cents: 123.40 gross, 0.80 % fee 0.99, net 122.41; to the IBAN ending 3000.
  for (const text of ['123.40 USD', '−0.99 USD', '122.41 USD', 'Commerzbank, Köln', '••••3000', 'COBADEFFXXX']) await expect(formulaPreview).toContainText(text);
  const cjkPreview = gathered.getByRole('row').filter({ hasText: CJK });
  for (const text of ['567.80 USD', '−4.54 USD', '563.26 USD', '中国工商银行北京分行', '••••2233', '102100099996']) await expect(cjkPreview).toContainText(text);
  const heldPreview = page.getByRole('table', { name: 'Held-back merchants' }).getByRole('row').filter({ hasText: HELD });
  await expect(heldPreview).toContainText('No payout destination: the merchant has no bank account');
  await expect(heldPreview).toContainText('99.20 USD');
  await shot(page, '01-preview');

  await page.getByRole('button', { name: 'Close batch…' }).click();
  const closeDialog = page.getByRole('dialog');
  await expect(closeDialog.getByTestId('consequence')).toContainText('Closing freezes 2 line(s), 685.67 USD in total');
  await expect(closeDialog.getByTestId('consequence')).toContainText(`${HELD}: No payout destination`);
  await expect(closeDialog.getByLabel('Two-factor code')).toHaveCount(0); // closing moves no money: no step-up
  await shot(page, '02-close-dialog');
  await closeDialog.getByRole('button', { name: 'Close batch', exact: true }).click();

  await expect(page.getByTestId('notice')).toContainText('closed: 2 line(s), 685.67 USD');
  await expect(page.getByTestId('batch-status')).toHaveText('Closed · awaiting approval');
  await expect(page.getByTestId('control-total')).toHaveText('685.67 USD');
  const hash = (await page.getByTestId('content-hash').textContent())?.trim() ?? '';
  expect(hash).toMatch(/^[0-9a-f]{64}$/);
  const batchId = /#\/settlement\/(stb_[0-9a-z]+)$/.exec(page.url())?.[1] ?? '';
  expect(batchId).not.toBe('');
  const batchUrl = `${info.url}/#/settlement/${batchId}`;

  // The lines, each opening the invoices it covers; the held-back merchant listed with its reason.
  const lines = page.getByRole('table', { name: 'Settlement lines' });
  const formulaLine = lines.locator('tr[data-line-id]').filter({ hasText: FORMULA });
  const cjkLine = lines.locator('tr[data-line-id]').filter({ hasText: CJK });
  await expect(formulaLine.getByRole('cell').first()).toHaveText('1');
  await expect(cjkLine.getByRole('cell').first()).toHaveText('2');
  const formulaRef = (await formulaLine.locator('code.id').textContent()) ?? '';
  const cjkRef = (await cjkLine.locator('code.id').textContent()) ?? '';
  expect(formulaRef).toMatch(/^BM-[0-9A-Z]+$/);
  await cjkLine.getByRole('button', { name: 'Invoices (1)' }).click();
  const covered = page.getByRole('table', { name: 'Invoices covered by line 2' });
  await expect(covered.getByRole('row')).toHaveCount(2);
  await expect(covered.getByRole('row').nth(1)).toContainText('563.26 USD');
  await expect(page.getByRole('table', { name: 'Held-back merchants' }).getByRole('row').filter({ hasText: HELD })).toContainText('No payout destination');
  await expect(page.getByText('You closed this batch: two other admins must approve it.')).toBeVisible();
  await shot(page, '03-batch-closed');

  // ---- The closer is refused (the server's word, in the dialog).
  await page.getByRole('button', { name: 'Approve…' }).click();
  await expect(page.getByRole('dialog').getByTestId('approve-hash')).toHaveText(hash);
  const refused = await approve(page, closer.code);
  await expect(refused.getByRole('alert')).toContainText('Whoever closed a batch cannot approve it: two other admins must.');
  await expect(refused.getByRole('alert')).toContainText('approval_closer');
  await shot(page, '04-closer-refused');
  await refused.getByRole('button', { name: 'Cancel' }).click();

  // ---- Admin A approves: 1 of 2, then is refused a second time.
  const a = await session(browser, info.staff.approverA);
  // Home says a batch waits for approval; the card opens it.
  const waiting = a.page.getByTestId('attention').locator('a[data-kind="settlement_awaiting_approval"]');
  await expect(waiting).toContainText('Payout batches awaiting approval');
  await expect(waiting.locator('.count')).toHaveText('1');
  await expect(waiting).toHaveAttribute('href', `#/settlement/${batchId}`);
  await shot(a.page, '05a-home-card');
  await waiting.click();
  await a.page.getByRole('button', { name: 'Approve…' }).click();
  const first = a.page.getByRole('dialog');
  await expect(first.getByTestId('approve-hash')).toHaveText(hash);
  await expect(first.getByTestId('consequence')).toContainText('No one has approved yet');
  await expect(first.getByTestId('consequence')).toContainText('closed by settlement.closer@buffmoney.test');
  await expect(first.getByTestId('consequence')).toContainText('whoever closed the batch cannot approve it');
  await shot(a.page, '05-approve-dialog');
  await approve(a.page, a.code);
  await expect(a.page.getByTestId('notice')).toHaveText('Approved (1 of 2): a second admin must approve.');
  await expect(a.page.getByTestId('approvals')).toContainText('1 of 2');
  await expect(a.page.getByTestId('approvals')).toContainText(info.staff.approverA.email);
  await expect(a.page.getByTestId('batch-status')).toHaveText('Closed · awaiting approval');
  await a.page.getByRole('button', { name: 'Approve…' }).click();
  await expect(a.page.getByRole('dialog').getByTestId('approved-already')).toContainText(info.staff.approverA.email);
  const again = await approve(a.page, a.code);
  await expect(again.getByRole('alert')).toContainText('You already approved this batch: a second, different admin must.');
  await expect(again.getByRole('alert')).toContainText('approval_same_admin');
  await shot(a.page, '06-same-admin-refused');
  await again.getByRole('button', { name: 'Cancel' }).click();

  // ---- A finance officer may not approve: no button, the rule said.
  const f = await session(browser, info.staff.finance);
  await f.page.goto(batchUrl);
  await expect(f.page.getByText('Only admins approve settlement batches')).toBeVisible();
  await expect(f.page.getByRole('button', { name: 'Approve…' })).toHaveCount(0);

  // ---- Admin B, in a session of their own, approves the same content: 2 of 2, executed.
  const b = await session(browser, info.staff.approverB);
  await b.page.goto(batchUrl);
  await b.page.getByRole('button', { name: 'Approve…' }).click();
  const second = b.page.getByRole('dialog');
  await expect(second.getByTestId('approve-hash')).toHaveText(hash);
  await expect(second.getByTestId('approved-already')).toContainText(info.staff.approverA.email);
  await expect(second.getByTestId('consequence')).toContainText('This is approval 2 of 2');
  await shot(b.page, '07-second-approval-dialog');
  await approve(b.page, b.code);
  await expect(b.page.getByTestId('notice')).toHaveText('Approved (2 of 2): the batch is executed and its payout file produced.');
  await expect(b.page.getByTestId('batch-status')).toHaveText('Approved');
  await expect(b.page.getByTestId('approvals')).toContainText('2 of 2');
  const files = b.page.getByRole('table', { name: 'Payout files' });
  await expect(files.getByRole('row').filter({ hasText: 'Produced' })).toHaveCount(3); // bank CSV, summary, pain.001
  await shot(b.page, '08-approved');

  // ---- Finance exports the bank CSV: a download whose bytes are exactly the payout file.
  await f.page.reload();
  await expect(f.page.getByTestId('batch-status')).toHaveText('Approved');
  const exportFile = async (format: string) => {
    await f.page.getByRole('button', { name: 'Export payout file…' }).click();
    const dialog = f.page.getByRole('dialog');
    await dialog.getByLabel('Format').selectOption(format);
    const [download] = await Promise.all([f.page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export', exact: true }).click()]);
    const bytes = fs.readFileSync((await download.path()) ?? '');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await expect(f.page.getByTestId('notice')).toContainText(`Saved ${download.suggestedFilename()} (${bytes.length} bytes). SHA-256 ${sha256}`);
    return { name: download.suggestedFilename(), text: bytes.toString('utf8') };
  };
  const csv = await exportFile('bank-csv');
  expect(csv.name).toBe(`buffmoney-payouts-2026-06-USD-${batchId}.csv`);
  expect(csv.text).toBe(
    [
      'reference,beneficiary_name,account_number,bank_name,bank_code,amount,currency,remark',
      // The formula name starts with a quote (text, not a formula); quotes doubled, the cell quoted.
      `${formulaRef},"'=HYPERLINK(""http://x"",""y"")",DE89370400440532013000,"Commerzbank, Köln",COBADEFFXXX,122.41,USD,"BuffMoney settlement 2026-06 =HYPERLINK(""http://x"",""y"")"`,
      `${cjkRef},${CJK},6222020200112233,中国工商银行北京分行,102100099996,563.26,USD,BuffMoney settlement 2026-06 ${CJK}`,
      '',
    ].join('\r\n'),
  );
  const summary = await exportFile('bank-summary');
  expect(summary.text).toBe(['batch,month,currency,line_count,total', `${batchId},2026-06,USD,2,685.67`, ''].join('\r\n'));
  await expect(f.page.getByRole('table', { name: 'Payout files' }).getByRole('row').filter({ hasText: 'Exported' })).toHaveCount(2);
  await shot(f.page, '09-exported');

  // ---- Finance completes each line with the bank's reference.
  const complete = async (merchant: string, reference: string, amount: string) => {
    const line = f.page.getByRole('table', { name: 'Settlement lines' }).locator('tr[data-line-id]').filter({ hasText: merchant });
    await line.getByRole('button', { name: 'Complete…' }).click();
    const dialog = f.page.getByRole('dialog');
    await expect(dialog.getByTestId('consequence')).toContainText(amount);
    await dialog.getByLabel('Bank reference or transaction hash').fill(reference);
    if (reference === 'FT26182XK9ZQ') await shot(f.page, '10-complete-dialog');
    await dialog.getByRole('button', { name: 'Mark paid out' }).click();
    await expect(f.page.getByTestId('notice')).toHaveText(`Marked paid out with reference ${reference}.`);
    await expect(line).toContainText('Paid out');
    await expect(line.getByTestId('completion')).toContainText(reference);
  };
  await complete(FORMULA, 'FT26182XK9ZQ', '122.41 USD');
  await expect(f.page.getByTestId('batch-status')).toHaveText('Approved');
  await complete(CJK, 'ICBC-20260702-0042', '563.26 USD');
  await expect(f.page.getByTestId('batch-status')).toHaveText('Completed');
  await shot(f.page, '11-completed');

  // The list: the batch completed, 2 of 2 approvals, its control total.
  await f.page.getByRole('link', { name: '← All batches' }).click();
  const row = f.page.getByRole('table', { name: 'Settlement batches' }).locator(`tr[data-row-id="${batchId}"]`);
  await expect(row).toContainText('Completed');
  await expect(row).toContainText('2 of 2');
  await expect(row).toContainText('685.67 USD');
  await shot(f.page, '12-batches');

  // What was held back is still waiting: closing June again gathers no line, only Hollow Labs held
  // back; finance rejects that batch with a reason (its invoice is released again).
  await f.page.getByRole('link', { name: 'Close a batch' }).click();
  await f.page.getByLabel('Month (YYYY-MM)').fill('2026-06');
  await f.page.getByRole('button', { name: 'Preview' }).click();
  await expect(f.page.getByTestId('preview-summary')).toHaveText('0 merchant line(s) to gather, 0.00 USD in total; 1 held back.');
  await f.page.getByRole('button', { name: 'Close batch…' }).click();
  await f.page.getByRole('dialog').getByRole('button', { name: 'Close batch', exact: true }).click();
  await expect(f.page.getByTestId('batch-status')).toHaveText('Closed · awaiting approval');
  await expect(f.page.getByRole('table', { name: 'Settlement lines' })).toContainText('No lines: every merchant of this close was held back');
  await f.page.getByRole('button', { name: 'Reject…' }).click();
  const reject = f.page.getByRole('dialog');
  await expect(reject.getByTestId('consequence')).toContainText('nothing in it is paid');
  await expect(reject.getByRole('button', { name: 'Reject batch' })).toBeDisabled();
  await reject.getByLabel('Reason (recorded in the audit log)').fill('Only Hollow Labs, still without a bank account');
  await reject.getByRole('button', { name: 'Reject batch' }).click();
  await expect(f.page.getByTestId('notice')).toHaveText('Batch rejected: its invoices are released for a later close.');
  await expect(f.page.getByTestId('batch-status')).toHaveText('Rejected');
  await expect(f.page.getByText('“Only Hollow Labs, still without a bank account”')).toBeVisible();
  await shot(f.page, '12b-rejected');

  // The same batch in Chinese.
  await f.page.getByLabel('Language').selectOption('zh');
  await f.page.goto(batchUrl);
  await expect(f.page.getByTestId('batch-status')).toHaveText('已完成');
  await shot(f.page, '13-batch-zh');

  for (const s of [closer, a, b, f]) await s.context.close();
});
