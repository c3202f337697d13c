import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';
import { CHAIN_OPEN_METADATA_HASH } from './seeds/chain.js';

/**
 * The Chain screen (test/browser/seeds/chain.ts): each chain's listener cursor, head, safe block
 * and lag (the RPC does not answer: the recorded figures and the RPC's error), the unmatched
 * registrations with their review state, and an admin dismissing one. Screenshots in
 * artefacts/browser/screenshots and /tmp/chain-*.png, in English and Chinese.
 */

const info = readSeedInfo();
const houseShot = screenshotter('chain-');
const shot = async (page: Page, name: string) => {
  await houseShot(page, name);
  await page.screenshot({ path: `/tmp/chain-${name}.png`, fullPage: true });
};

test('Chain: cursor, head, finalized and lag per chain; unmatched registrations reviewed', async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, info.url, info.staff.chain);
  await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'On-chain' }).click();
  await expect(page.getByRole('heading', { name: 'On-chain registration' })).toBeVisible();

  const local = page.getByRole('article', { name: 'Local development chain (chain 31337)' });
  await expect(local).toContainText('listening');
  await expect(local).toContainText('0x5FbDB2315678afecb367f032d93F642f64180aa3');
  await expect(local.getByTestId('chain-cursor')).toHaveText('read to 1,289 (next 1,290)');
  await expect(local).toContainText('1,304');
  await expect(local).toContainText('Head − 2 confirmations');
  await expect(local).toContainText('1,302');
  await expect(local.getByTestId('chain-lag')).toHaveText('13 blocks');
  await expect(local).toContainText('as the listener recorded them');
  await expect(local).toContainText('1 unmatched');
  await expect(page.getByRole('article', { name: 'Arbitrum One (chain 42161)' })).toContainText('not configured');

  // awaiting review: the open registration only
  const table = page.getByRole('table', { name: 'Unmatched registrations' });
  await expect(table.getByRole('row')).toHaveCount(2);
  const open = table.getByRole('row').filter({ hasText: 'MerchantRegistered' });
  await expect(open).toContainText(CHAIN_OPEN_METADATA_HASH.slice(0, 12));
  await expect(open).toContainText('1288');
  await expect(open).toContainText('no merchant has a pending register-intent');
  await expect(open).toContainText('awaiting review');
  await shot(page, '01-status');

  // every one, with the dismissed one's review
  await page.locator('select[name="reviewState"]').selectOption('all');
  await expect(table.getByRole('row')).toHaveCount(3);
  await expect(table.getByRole('row').filter({ hasText: 'dismissed' })).toContainText('1201');

  // an admin dismisses the open one
  await page.locator('select[name="reviewState"]').selectOption('open');
  await expect(table.getByRole('row')).toHaveCount(2);
  await open.getByRole('button', { name: 'Review' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: 'Review on-chain merchant #7' })).toBeVisible();
  await expect(dialog.getByLabel('Two-factor code')).toHaveCount(0);
  await dialog.getByLabel('Resolution').selectOption('matched');
  await expect(dialog.getByRole('button', { name: 'Record the review' })).toBeDisabled();
  await dialog.getByLabel('Resolution').selectOption('dismissed');
  await dialog.getByLabel('Note').fill('registered twice by mistake; the merchant re-registered as #8');
  await shot(page, '02-review');
  await dialog.getByRole('button', { name: 'Record the review' }).click();
  await expect(page.getByTestId('notice')).toContainText('Review of on-chain merchant #7 recorded.');
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table).toContainText('No unmatched registrations.');

  // in Chinese
  await page.getByLabel('Language').selectOption('zh');
  await expect(page.getByRole('heading', { name: '链上注册' })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Local development chain（链 31337）' }).getByTestId('chain-lag')).toHaveText('13 个区块');
  await page.locator('select[name="reviewState"]').selectOption('all');
  await expect(page.getByRole('table', { name: '未匹配的注册' }).getByRole('row')).toHaveCount(3);
  await shot(page, '03-zh');
  await page.getByLabel('语言').selectOption('en');
});
