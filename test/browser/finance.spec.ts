import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';
import { FINANCE_MERCHANT } from './seeds/finance.js';

/**
 * The finance screens (home, FX import, invoices: void and unbilled usage, the ledger explorer)
 * in Chromium against the loopback transport and a real SQLite file. Each test signs in as a
 * staff member of its own and works on the finance seed's own merchant (seeds/finance.ts), so
 * the shared seed's invoices stay as backoffice.spec.ts expects them.
 */

const info = readSeedInfo();
const shot = screenshotter('finance-');

/** Opens the finance merchant's invoice for a customer and the last ended month. */
async function openInvoice(page: Page, customer: string) {
  await page.getByRole('link', { name: 'Invoices', exact: true }).click();
  await page.getByLabel('Merchant').selectOption({ label: FINANCE_MERCHANT });
  const list = page.getByRole('table', { name: 'Invoices', exact: true });
  await expect(list.getByRole('row')).toHaveCount(7); // header + 2 customers × 3 months
  await list.getByRole('row').filter({ hasText: customer }).first().click();
  await expect(page.getByRole('heading', { name: /^Invoice BM-/ })).toBeVisible();
}

test('Home: attention cards link to their screens; usage and invoiced charts render inside the CSP', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to ${e.violatedDirective}: ${e.blockedURI}`));
  });
  await signIn(page, info.url, info.staff.home);
  await expect(page.getByRole('link', { name: 'Home', exact: true })).toHaveAttribute('aria-current', 'page');
  const attention = page.getByTestId('attention');
  await expect(attention.locator('[data-kind="kyb_pending_review"]')).toContainText('KYB submissions waiting for review');
  await expect(attention.locator('a[data-kind="kyb_pending_review"]')).toHaveAttribute('href', '#/kyb');
  await expect(attention.locator('[data-kind="invoice_periods_overdue"]')).toContainText('Billing periods not invoiced');

  const invoiced = page.getByTestId('invoiced-chart');
  await expect(invoiced).toContainText('USD');
  await expect(invoiced.getByRole('img', { name: /Invoiced amounts per month/ }).locator('canvas')).toBeVisible();
  const usage = page.getByTestId('usage-chart');
  await expect(usage.getByRole('button', { name: 'Input tokens' })).toHaveAttribute('aria-pressed', 'true');
  // 41M × 3 customers' weights (3 + 1) × (1 + 2 + 3) months = 984,000,000, at least (the shared seed adds its own once invoiced)
  await expect(usage.locator('.figure')).toContainText(/\d{3},\d{3},\d{3}/);
  await usage.getByRole('button', { name: 'Agent runs' }).click();
  await expect(usage.getByRole('button', { name: 'Agent runs' })).toHaveAttribute('aria-pressed', 'true');
  // hover a bar: the tooltip is drawn on the canvas (richText), so only its absence of errors is checked
  const box = await invoiced.locator('canvas').first().boundingBox();
  if (box) await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.6);
  await shot(page, '01-home');

  await attention.locator('a[data-kind="kyb_pending_review"]').click();
  await expect(page.getByRole('table', { name: 'KYB submissions' })).toBeVisible();
  // The charts must not need style-src 'unsafe-inline' (nor anything else). zod's one-time probe
  // for eval (new Function('') in a try/catch, answered by its jitless mode) is reported apart.
  expect(violations.filter((v) => !/script-src: eval/.test(v))).toEqual([]);
});

test('FX import: preview, a bad row refused with its line, then all rows with a progress bar', async ({ page }) => {
  test.setTimeout(120_000);
  const code = await signIn(page, info.url, info.staff.fximport);
  await page.getByRole('link', { name: 'FX rates' }).click();
  const region = page.getByRole('region', { name: 'Import rates from a CSV file' });

  const bad = 'from,to,rate,effectiveAt,source\nEUR,CNY,7.8123,2026-01-05T00:00:00Z,ECB\nGBP,CNY,seven,2026-01-05T00:00:00Z,BoE\n';
  await region.getByLabel('CSV file').setInputFiles({ name: 'bad-rates.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await expect(region.getByTestId('import-preview')).toContainText('2 rates in bad-rates.csv');
  await region.getByRole('button', { name: 'Review import…' }).click();
  let dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('All or nothing');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Import 2 rates' }).click();
  await expect(dialog.getByRole('alert')).toContainText('Line 3');
  await expect(dialog.getByRole('alert')).toContainText('fx_import_invalid');
  await shot(page, '02-fx-import-bad-line');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  const rows = ['from,to,rate,effectiveAt,source'];
  for (let day = 1; day <= 20; day++) {
    const d = String(day).padStart(2, '0');
    rows.push(`EUR,CNY,7.8${d}1,2026-01-${d}T00:00:00Z,ECB reference`, `GBP,CNY,9.1${d}2,2026-01-${d}T00:00:00Z,BoE`, `HKD,CNY,0.91${d},2026-01-${d}T00:00:00Z,HKMA`);
  }
  await region.getByLabel('CSV file').setInputFiles({ name: 'january-rates.csv', mimeType: 'text/csv', buffer: Buffer.from(`${rows.join('\n')}\n`) });
  const preview = region.getByTestId('import-preview');
  await expect(preview).toContainText('60 rates in january-rates.csv · pairs EUR/CNY, GBP/CNY, HKD/CNY');
  await expect(preview.getByRole('table', { name: 'CSV preview' }).getByRole('row')).toHaveCount(6);
  await expect(preview).toContainText('… and 55 more rows');
  await shot(page, '03-fx-import-preview');
  await region.getByRole('button', { name: 'Review import…' }).click();
  dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('60 rates for EUR/CNY, GBP/CNY, HKD/CNY, effective from 2026-01-01 00:00 UTC to 2026-01-20 00:00 UTC');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Import 60 rates' }).click();
  await expect(page.getByTestId('notice')).toContainText('Imported 60 rates for EUR/CNY, GBP/CNY, HKD/CNY');
  await page.getByRole('combobox', { name: 'Pair', exact: true }).selectOption('HKD/CNY');
  await expect(page.getByRole('table', { name: 'FX rate history' }).getByRole('row').nth(1)).toContainText('0.912');
  await shot(page, '04-fx-imported');
});

test('Invoices: detail is complete, void states its effects and reverses the posting', async ({ page }) => {
  const code = await signIn(page, info.url, info.staff.void);
  await openInvoice(page, 'cus-harbor-ai');
  const facts = page.locator('.facts.money');
  await expect(facts).toContainText('Customer pays');
  await expect(facts).toContainText('CNY');
  await expect(facts).toContainText('Service fee');
  await expect(facts).toContainText('Net to merchant');
  const lines = page.getByRole('table', { name: 'Invoice lines' });
  await expect(lines.getByRole('row')).toHaveCount(4);
  await expect(lines).toContainText('0.0000025 USD'); // 0.00025 cents per input token
  await expect(page.getByRole('table', { name: 'FX snapshot' })).toContainText('USD/CNY');
  const postings = page.getByRole('table', { name: 'Ledger postings' });
  await expect(postings.getByRole('row')).toHaveCount(2);
  await expect(postings).toContainText('invoice.finalized');

  await page.getByRole('button', { name: 'Void invoice…' }).click();
  const dialog = page.getByRole('dialog');
  const consequence = dialog.getByTestId('consequence');
  await expect(consequence).toContainText('cannot be undone');
  await expect(consequence).toContainText('reversed by a new ledger transaction');
  await expect(consequence).toContainText('invoice.voided');
  await expect(dialog.getByRole('button', { name: 'Void invoice' })).toBeDisabled();
  await dialog.getByLabel('Reason').fill('Customer was billed on the wrong contract');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await shot(page, '05-invoice-void-dialog');
  await dialog.getByRole('button', { name: 'Void invoice' }).click();
  await expect(page.getByTestId('notice')).toContainText('its ledger posting was reversed');
  await expect(page.getByRole('heading', { name: /^Invoice BM-/ })).toContainText('void');
  await expect(page.getByRole('button', { name: 'Void invoice…' })).toHaveCount(0);
  await expect(postings.getByRole('row')).toHaveCount(3);
  await expect(postings).toContainText('invoice.voided');
  await shot(page, '06-invoice-voided');
});

test('Invoices: a run for one merchant shows progress; unbilled usage per merchant and month', async ({ page }) => {
  await signIn(page, info.url, info.staff.unbilled);
  await page.getByRole('link', { name: 'Invoices', exact: true }).click();
  await page.getByRole('button', { name: 'Generate invoices…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Merchant').selectOption({ label: FINANCE_MERCHANT });
  await expect(dialog.getByTestId('consequence')).toContainText(`of ${FINANCE_MERCHANT}`);
  await dialog.getByRole('button', { name: 'Generate invoices' }).click();
  await expect(page.getByTestId('run-report')).toContainText('0 created, 0 already invoiced, 0 failed');

  await page.getByRole('link', { name: 'Unbilled usage' }).click();
  await expect(page).toHaveURL(/#\/invoices\/unbilled$/);
  await page.getByLabel('Merchant').selectOption({ label: FINANCE_MERCHANT });
  const now = new Date();
  const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  await page.getByLabel('Month').fill(lastMonth);
  const table = page.getByRole('table', { name: 'Unbilled usage' });
  const row = table.getByRole('row').filter({ hasText: 'cus-harbor-ai' });
  await expect(row).toContainText('image_generation');
  await expect(row).toContainText('240');
  await expect(row).toContainText('no contract prices it');
  await shot(page, '07-unbilled-usage');
  const twoMonthsAgo = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1)).toISOString().slice(0, 7);
  await page.getByLabel('Month').fill(twoMonthsAgo);
  await expect(table).toContainText('is priced by a contract');
});

test('Ledger explorer: accounts, transactions by account, one transaction with debits and credits', async ({ page }) => {
  await signIn(page, info.url, info.staff.ledgertx);
  await openInvoice(page, 'cus-lumen-labs');
  const postings = page.getByRole('table', { name: 'Ledger postings' });
  await postings.getByRole('link', { name: /^ltx_/ }).first().click();

  await expect(page.getByRole('heading', { name: /Transaction invoice\.finalized/ })).toBeVisible();
  const entries = page.getByRole('table', { name: 'Entries' });
  await expect(entries).toContainText('receivable:');
  await expect(entries).toContainText('merchant_payable:');
  await expect(entries).toContainText('platform_fee_revenue:');
  await expect(page.getByTestId('balanced')).toContainText(/CNY: debits [\d,.]+ CNY = credits [\d,.]+ CNY/);
  await shot(page, '08-ledger-transaction');

  await page.getByRole('link', { name: 'Accounts', exact: true }).click();
  const accounts = page.getByRole('table', { name: 'Chart of accounts' });
  await page.getByLabel('Account type').selectOption('merchant_payable');
  await expect(accounts.getByRole('row').filter({ hasText: 'merchant payable' }).first()).toBeVisible();
  await shot(page, '09-ledger-accounts');
  await accounts.getByRole('row').filter({ hasText: 'merchant payable' }).first().click();
  const txs = page.getByRole('table', { name: 'Ledger transactions' });
  await expect(page.locator('.chip')).toContainText('merchant_payable:');
  await expect(txs.getByRole('row').nth(1)).toContainText('invoice.');
  await shot(page, '10-ledger-transactions');

  await page.getByRole('button', { name: 'Verify ledger' }).click();
  await expect(page.getByTestId('notice')).toContainText('Ledger intact');
});
