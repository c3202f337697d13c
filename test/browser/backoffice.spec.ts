import { expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';

/**
 * The back office as staff use it: Chromium, the built renderer, the loopback transport, a real
 * SQLite file (no mocked core). TOTP codes are computed here from the seeded secrets.
 */

const info = readSeedInfo();

const shot = screenshotter('');

test('sign-in with password and TOTP; a wrong code is explained; sign-out returns to sign-in', async ({ page }) => {
  const who = info.staff.signin;
  await page.goto(info.url);
  await expect(page.getByRole('heading', { name: 'BuffMoney back office' })).toBeVisible();
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Two-factor code').fill('000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('two-factor code is wrong');
  await expect(page.getByRole('alert')).toContainText('otp_invalid');
  await shot(page, '01-sign-in-wrong-code');

  await signIn(page, info.url, who);
  await expect(page.getByRole('link', { name: 'Home' })).toHaveAttribute('aria-current', 'page');
  await page.reload();
  await expect(page.getByRole('navigation', { name: 'Back office' })).toContainText(who.email);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('KYB: approve with step-up, after the dialog says what approval does', async ({ page }) => {
  const code = await signIn(page, info.url, info.staff.kyb);
  await page.getByRole('link', { name: 'KYB review' }).click();
  const table = page.getByRole('table', { name: 'KYB submissions' });
  const row = table.getByRole('row').filter({ hasText: 'Acme AI Pte Ltd' });
  await expect(row).toContainText('Waiting for review');
  await expect(table.getByRole('row').filter({ hasText: 'Lotus Robotics Ltd' })).toBeVisible();
  await shot(page, '02-kyb-queue');

  await row.getByRole('button', { name: 'Approve…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('live API keys');
  await dialog.getByLabel('Two-factor code').fill('000000');
  await dialog.getByRole('button', { name: 'Approve KYB' }).click();
  await expect(dialog.getByRole('alert')).toContainText('otp_invalid');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await shot(page, '03-kyb-approve-step-up');
  await dialog.getByRole('button', { name: 'Approve KYB' }).click();
  await expect(page.getByTestId('notice')).toContainText('Approved Acme AI Pte Ltd');
  await expect(table).not.toContainText('Acme AI Pte Ltd');
  await page.getByLabel('Status').selectOption('approved');
  await expect(table.getByRole('row').filter({ hasText: 'Acme AI Pte Ltd' })).toContainText('Approved');
});

test('FX: add a rate with step-up; it heads the history', async ({ page }) => {
  const code = await signIn(page, info.url, info.staff.fx);
  await page.getByRole('link', { name: 'FX rates' }).click();
  const history = page.getByRole('table', { name: 'FX rate history' });
  await expect(history).toContainText('7.1234');
  const form = page.getByRole('form', { name: 'Add a rate' });
  await form.getByRole('combobox', { name: 'From', exact: true }).selectOption('USD');
  await form.getByRole('combobox', { name: 'To', exact: true }).selectOption('CNY');
  await form.getByLabel('Rate (units of To per 1 From)').fill('7.2050');
  await form.getByLabel('Source').fill('PBoC central parity');
  await form.getByRole('button', { name: 'Review rate…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('1 USD = 7.2050 CNY');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Enter rate' }).click();
  await expect(page.getByTestId('notice')).toContainText('Entered USD/CNY 7.205');
  await expect(history.getByRole('row').nth(1)).toContainText('7.205');
  await shot(page, '04-fx-rates');
});

test('Invoices: generate, read the run report, open an invoice with its lines and FX snapshot', async ({ page }) => {
  await signIn(page, info.url, info.staff.invoices);
  await page.getByRole('link', { name: 'Invoices' }).click();
  await page.getByRole('button', { name: 'Generate invoices…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('already invoiced are skipped');
  await dialog.getByRole('button', { name: 'Generate invoices' }).click();
  const report = page.getByTestId('run-report');
  await expect(report).toContainText('2 created, 0 already invoiced, 0 failed');
  const list = page.getByRole('table', { name: 'Invoices' });
  // 18.5M tokens × 0.0002 + 4.2M × 0.00005 + 1,234 runs × 25 = 34,760 cents
  const northwind = list.getByRole('row').filter({ hasText: 'cus-northwind' });
  await expect(northwind).toContainText('347.60 USD');
  // × 7.1234 = 247,609.38… fen, rounded once
  await expect(northwind).toContainText('2,476.09 CNY');
  await page.getByLabel('Status').selectOption('void');
  // Other tests void invoices of their own merchants; none of this run's is void.
  await expect(list.getByRole('row').filter({ hasText: 'cus-northwind' })).toHaveCount(0);
  await page.getByLabel('Status').selectOption('');
  await shot(page, '05-invoices-run-report');

  await list.getByRole('row').filter({ hasText: 'cus-northwind' }).click();
  await expect(page.getByRole('heading', { name: /^Invoice BM-/ })).toBeVisible();
  const lines = page.getByRole('table', { name: 'Invoice lines' });
  await expect(lines.getByRole('row')).toHaveCount(4);
  await expect(lines).toContainText('model=gpt-5');
  await expect(lines).toContainText('308.50 USD');
  await expect(lines).toContainText('18,500,000');
  await expect(page.getByRole('table', { name: 'FX snapshot' })).toContainText('USD/CNY');
  await expect(page.getByRole('table', { name: 'FX snapshot' })).toContainText('7.1234');
  await shot(page, '06-invoice-detail');
});

test('Ledger: balances and verify', async ({ page }) => {
  await signIn(page, info.url, info.staff.ledger);
  await page.getByRole('link', { name: 'Ledger' }).click();
  await expect(page.getByRole('table', { name: 'Account balances' })).toBeVisible();
  await page.getByRole('button', { name: 'Verify ledger' }).click();
  await expect(page.getByTestId('notice')).toContainText('Ledger intact');
  await shot(page, '07-ledger');
});
