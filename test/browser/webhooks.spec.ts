import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';
import { WEBHOOKS_MERCHANT, WEBHOOKS_OTHER_MERCHANT } from './seeds/webhooks.js';

/**
 * The Webhooks screen (test/browser/seeds/webhooks.ts): Home names the failing endpoints and links
 * to their failed deliveries; the officer filters deliveries, opens one's attempt log (every
 * attempt's time, HTTP status, latency, response excerpt), resends it and sees the new attempt
 * the delivery worker made; the endpoints tab shows each endpoint's health. Screenshots in
 * artefacts/browser/screenshots and /tmp/webhooks-*.png, in English and Chinese.
 */

const info = readSeedInfo();
const houseShot = screenshotter('webhooks-');
const shot = async (page: Page, name: string) => {
  await houseShot(page, name);
  await page.screenshot({ path: `/tmp/webhooks-${name}.png`, fullPage: true });
};

test('Webhooks: failing endpoints on Home, filter deliveries, read the attempt log, resend and see the new attempt', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, info.url, info.staff.webhooks);

  // Home: the failing endpoints, each with a link to its failing deliveries.
  const attention = page.getByTestId('attention');
  const card = attention.locator('a[data-kind="webhook_endpoints_failing"]');
  await expect(card).toContainText('Merchant webhook endpoints failing');
  await expect(card).toHaveAttribute('href', '#/webhooks/failing');
  const failingList = page.getByRole('list', { name: 'Failing webhook endpoints' });
  const heronEndpoint = failingList.getByRole('listitem').filter({ hasText: WEBHOOKS_MERCHANT });
  await expect(heronEndpoint).toContainText('/hooks/failing/heron');
  await expect(heronEndpoint).toContainText('since');
  await expect(failingList.getByRole('listitem').filter({ hasText: WEBHOOKS_OTHER_MERCHANT })).toContainText('disabled: 410 Gone');
  await shot(page, '01-home');

  // The card opens the failing deliveries (both environments, every merchant).
  await card.click();
  await expect(page.getByRole('heading', { name: 'Webhooks' })).toBeVisible();
  await expect(page.getByLabel('Failing only')).toBeChecked();
  const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
  await expect(deliveries.getByRole('row')).toHaveCount(4); // header + Heron's failed invoice.paid, its retrying invoice.refunded, Osprey's 410
  await expect(deliveries.getByRole('row').filter({ hasText: 'invoice.refunded' })).toContainText('Retrying');

  // Narrow to Heron, then to invoice.paid.
  await page.getByRole('combobox', { name: 'Merchant' }).selectOption({ label: WEBHOOKS_MERCHANT });
  await expect(deliveries.getByRole('row')).toHaveCount(3);
  await page.getByLabel('Event type').selectOption('invoice.paid');
  await expect(deliveries.getByRole('row')).toHaveCount(2);
  const failed = deliveries.getByRole('row').filter({ hasText: 'invoice.paid' });
  await expect(failed).toContainText('Failed');
  await expect(failed).toContainText('HTTP 503');
  await expect(failed.getByRole('cell').nth(5)).toHaveText('10');
  await shot(page, '02-deliveries-failing');

  // The attempt log: 10 attempts, each with its time, status, latency and the receiver's answer.
  await failed.getByRole('button', { name: 'Attempts…' }).click();
  const detail = page.getByRole('dialog');
  await expect(detail.getByRole('heading', { name: /^Delivery whd_/ })).toBeVisible();
  const attempts = detail.getByRole('table', { name: 'Delivery attempts' });
  await expect(attempts.getByRole('row')).toHaveCount(11);
  const first = attempts.getByRole('row').nth(1);
  await expect(first).toContainText('Failed');
  await expect(first).toContainText('503');
  await expect(first).toContainText(' ms');
  await expect(first).toContainText('upstream database unavailable');
  await expect(detail.getByTestId('delivery-status')).toContainText('Failed');
  await shot(page, '03-attempt-log');

  // Resend from the detail: it says what goes where again; no two-factor code for this one.
  await detail.getByRole('button', { name: 'Resend…' }).click();
  const resend = page.getByRole('dialog');
  await expect(resend.getByRole('heading', { name: 'Resend webhook delivery' })).toBeVisible();
  await expect(resend.getByTestId('consequence')).toContainText('/hooks/failing/heron');
  await expect(resend.getByTestId('consequence')).toContainText('same webhook-id');
  await expect(resend.getByLabel('Two-factor code')).toHaveCount(0); // resend is not step-up (core/backoffice/commands/webhooks.ts)
  await shot(page, '04-resend-dialog');
  await resend.getByRole('button', { name: 'Resend', exact: true }).click();
  await expect(page.getByTestId('notice')).toContainText('queued again: Pending, next attempt');

  // The detail comes back; the worker tries the delivery at once: an 11th attempt, retrying again.
  await expect(failed).toContainText('Retrying');
  const again = page.getByRole('dialog');
  await expect(again.getByRole('heading', { name: /^Delivery whd_/ })).toBeVisible();
  await expect(async () => {
    await again.getByRole('button', { name: 'Refresh' }).click();
    await expect(again.getByRole('table', { name: 'Delivery attempts' }).getByRole('row')).toHaveCount(12, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(again.getByTestId('delivery-status')).toContainText('Retrying');
  await expect(again.getByRole('button', { name: 'Resend…' })).toHaveCount(0); // being tried: nothing to resend
  await shot(page, '05-after-resend');

  // In Chinese.
  await page.getByLabel('Language').selectOption('zh');
  await expect(again.getByRole('table', { name: '投递尝试' })).toBeVisible();
  await shot(page, '06-attempt-log-zh');
  await again.getByRole('button', { name: '关闭' }).click();
  await shot(page, '07-deliveries-zh');
  await page.getByRole('link', { name: '端点', exact: true }).click();
  await expect(page.getByRole('table', { name: 'Webhook 端点' })).toBeVisible();
  await shot(page, '08-endpoints-zh');
  await page.getByLabel('语言').selectOption('en');

  // The endpoints tab: health per endpoint; the filters carry over.
  const endpoints = page.getByRole('table', { name: 'Webhook endpoints' });
  await page.getByRole('combobox', { name: 'Merchant' }).selectOption({ label: WEBHOOKS_OTHER_MERCHANT });
  await page.getByLabel('Failing only').uncheck();
  await expect(endpoints.getByRole('row')).toHaveCount(3);
  await expect(endpoints.getByRole('row').filter({ hasText: '/hooks/gone/' })).toContainText('Disabled answered 410 Gone');
  await expect(endpoints.getByRole('row').filter({ hasText: '/hooks/ok/osprey' })).toContainText('Enabled');
  await expect(endpoints.getByRole('row').filter({ hasText: '/hooks/ok/osprey' })).toContainText('invoice.paid, invoice.finalized');
  await shot(page, '09-endpoints');

  // An endpoint's deliveries: both of Osprey's events reached it.
  await endpoints.getByRole('row').filter({ hasText: '/hooks/ok/osprey' }).getByRole('button', { name: 'Deliveries' }).click();
  await expect(deliveries.getByRole('row')).toHaveCount(3);
  await expect(deliveries.getByRole('row').filter({ hasText: 'invoice.finalized' })).toContainText('Delivered');
  await expect(deliveries.getByRole('row').filter({ hasText: 'invoice.paid' })).toContainText('HTTP 200');
  await shot(page, '10-endpoint-deliveries');

  // Back home in Chinese: the failing card in the officer's language.
  await page.getByLabel('Language').selectOption('zh');
  await page.getByRole('link', { name: '首页', exact: true }).click();
  await expect(page.getByTestId('attention').locator('[data-kind="webhook_endpoints_failing"]')).toContainText('投递失败的商户 Webhook 端点');
  await shot(page, '11-home-zh');
  await page.getByLabel('语言').selectOption('en');
});
