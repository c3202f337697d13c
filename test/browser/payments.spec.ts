import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';
import { PAYMENTS_MERCHANT } from './seeds/payments.js';

/**
 * The Payments screen (test/browser/seeds/payments.ts): a finance officer refunds part of a paid
 * invoice through the dialog that states what will be refunded and asks for a fresh code, sees
 * the refund succeed and what remains, resolves a payment exception, runs reconciliation and pays
 * a sandbox order. Screenshots in artefacts/browser/screenshots and /tmp/payments-*.png.
 */

const info = readSeedInfo();
const houseShot = screenshotter('payments-');
const shot = async (page: Page, name: string) => {
  await houseShot(page, name);
  await page.screenshot({ path: `/tmp/payments-${name}.png`, fullPage: true });
};

/** "1,234.56 CNY" → 123456n (fen). */
const fen = (text: string | null) => BigInt((text ?? '').replace(/[^\d]/g, ''));
const cny = (minor: bigint) => `${(minor / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${(minor % 100n).toString().padStart(2, '0')} CNY`;

test('Payments: refund part of a paid invoice with step-up, resolve an exception, reconcile, pay a sandbox order', async ({ page }) => {
  test.setTimeout(120_000);
  const code = await signIn(page, info.url, info.staff.payments);
  await page.getByRole('link', { name: 'Payments', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Payments' })).toBeVisible();
  await page.getByLabel('Merchant').selectOption({ label: PAYMENTS_MERCHANT });
  const orders = page.getByRole('table', { name: 'Payment orders' });
  await expect(orders.getByRole('row')).toHaveCount(4); // header + live paid + two sandbox orders, open
  const paid = orders.getByRole('row').filter({ hasText: 'live' });
  await expect(paid).toContainText('Paid');
  await expect(paid).toContainText('WeChat Pay');
  await shot(page, '01-orders');

  // The refund dialog states what was paid, what is refunded, this refund and what remains.
  await paid.getByRole('button', { name: 'Refund…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: /^Refund invoice BM-/ })).toBeVisible();
  const statement = dialog.getByRole('definition');
  const paidMinor = fen(await statement.nth(1).textContent());
  expect(paidMinor).toBeGreaterThan(20_000n);
  await expect(statement.nth(2)).toHaveText('0.00 CNY'); // nothing refunded yet
  await expect(dialog.getByTestId('refund-remains')).toHaveText(cny(paidMinor));
  await expect(dialog.getByRole('button', { name: 'Refund…' })).toBeDisabled();
  await dialog.getByLabel('Amount to refund (CNY)').fill(String(Number(paidMinor) / 100 + 1));
  await expect(dialog.getByTestId('consequence')).toContainText('More than is left to refund');
  await dialog.getByLabel('Amount to refund (CNY)').fill('200');
  await expect(dialog.getByTestId('this-refund')).toHaveText('−200.00 CNY');
  await expect(dialog.getByTestId('refund-remains')).toHaveText(cny(paidMinor - 20_000n));
  await expect(dialog.getByTestId('consequence')).toContainText('A partial refund: the invoice stays “paid”.');
  await dialog.getByLabel(/^Reason/).fill('Customer was charged for 200 runs that failed');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await shot(page, '02-refund-dialog');
  await dialog.getByRole('button', { name: 'Refund 200.00 CNY' }).click();
  await expect(page.getByTestId('notice')).toContainText(`Refund of 200.00 CNY on BM-`);
  await expect(page.getByTestId('notice')).toContainText('Succeeded');
  await expect(page.getByTestId('notice')).toContainText(`${cny(paidMinor - 20_000n)} remains refundable`);
  await shot(page, '03-refund-done');

  // The paid invoice's own page offers the same refund, with the refund just made counted.
  await paid.getByRole('link', { name: /^BM-/ }).click();
  await expect(page.getByRole('heading', { name: /^Invoice BM-/ })).toBeVisible();
  await page.getByRole('button', { name: 'Refund…' }).click();
  const again = page.getByRole('dialog');
  await expect(again.getByRole('definition').nth(2)).toHaveText('200.00 CNY');
  await expect(again.getByTestId('refund-remains')).toHaveText(cny(paidMinor - 20_000n));
  await page.getByLabel('Language').selectOption('zh');
  await expect(again.getByRole('heading', { name: /^账单 BM-.* 退款$/ })).toBeVisible();
  await shot(page, '03b-invoice-refund-dialog-zh');
  await page.getByLabel('语言').selectOption('en');
  await again.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('link', { name: 'Payments', exact: true }).click();

  await page.getByRole('link', { name: 'Refunds', exact: true }).click();
  const refunds = page.getByRole('table', { name: 'Refunds' });
  const refundRow = refunds.getByRole('row').filter({ hasText: '200.00 CNY' });
  await expect(refundRow).toContainText('Succeeded');
  await expect(refundRow).toContainText('Customer was charged for 200 runs that failed');
  await shot(page, '04-refunds');

  // The exception queue: resolve the payment for an order nobody made.
  await page.getByRole('link', { name: 'Exceptions', exact: true }).click();
  const exceptions = page.getByRole('table', { name: 'Payment exceptions' });
  const unknown = exceptions.getByRole('row').filter({ hasText: 'BM20260000UNKNOWN' });
  await expect(unknown).toContainText('Unknown order');
  await expect(unknown).toContainText('88.00 CNY');
  await shot(page, '05-exceptions');
  await unknown.getByRole('button', { name: 'Resolve…' }).click();
  const resolve = page.getByRole('dialog');
  await expect(resolve.getByTestId('consequence')).toContainText('88.00 CNY');
  await expect(resolve.getByLabel('Two-factor code')).toHaveCount(0); // records what was done; moves no money
  await resolve.getByLabel('What was done').fill('Refunded to the payer at WeChat Pay, refund no. 50300001');
  await shot(page, '06-resolve-dialog');
  await resolve.getByRole('button', { name: 'Resolve' }).click();
  await expect(page.getByTestId('notice')).toContainText('resolved');
  await expect(exceptions.getByRole('row').filter({ hasText: 'BM20260000UNKNOWN' })).toHaveCount(0);
  await page.getByLabel('Status').selectOption({ label: 'Resolved' });
  await expect(exceptions.getByRole('row').filter({ hasText: 'BM20260000UNKNOWN' })).toContainText('Refunded to the payer at WeChat Pay');

  // Reconciliation on demand: the sandbox order left open past its expiry is closed and expired.
  await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
  await page.getByRole('button', { name: 'Run reconciliation' }).click();
  await expect(page.getByTestId('notice')).toContainText('Reconciled at');
  const differences = page.getByRole('table', { name: 'Reconciliation differences' });
  await expect(differences.getByRole('row').filter({ hasText: 'Open past expiry' })).toContainText('expired');
  await shot(page, '07-reconcile');

  // A sandbox order paid as a payer would.
  await page.getByRole('link', { name: 'Orders & payments', exact: true }).click();
  await page.getByLabel('Merchant').selectOption({ label: PAYMENTS_MERCHANT });
  const sandbox = orders.getByRole('row').filter({ hasText: 'sandbox' });
  await expect(sandbox.filter({ hasText: 'Expired' })).toHaveCount(1);
  await expect(sandbox.getByRole('button', { name: 'Pay (sandbox)' })).toHaveCount(1); // the expired one cannot be paid
  await sandbox.getByRole('button', { name: 'Pay (sandbox)' }).click();
  await expect(page.getByTestId('notice')).toContainText('paid — order: Paid, invoice: paid');
  await expect(sandbox.filter({ hasText: 'Paid' })).toHaveCount(1);
  await expect(sandbox.getByRole('button', { name: 'Pay (sandbox)' })).toHaveCount(0);
  await shot(page, '08-sandbox-paid');
});
