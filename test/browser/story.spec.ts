import { type Page, expect, test } from '@playwright/test';
import { type Staff, signIn, startSpecServer } from './helpers.js';

/**
 * The whole collection story in Chromium, on the real server and the real back office over one
 * database (test/browser/serve-story.ts): the merchant's invoice → a checkout through the merchant
 * API → the hosted page at /pay shows it → the sandbox payer pays (the sandbox WeChat Pay sends its
 * signed notification to our callback over HTTP) → the page turns to paid by itself → the back
 * office's Payments screen shows the payment and the invoice paid → a finance officer refunds part
 * of it with a fresh code → the refund succeeds (the sandbox channel's refund notification) → the
 * merchant API shows what was refunded, and the ledger verifies. Screenshots: /tmp/story-*.png.
 */

interface Info {
  apiUrl: string;
  backOfficeUrl: string;
  apiKey: string;
  merchantName: string;
  invoiceId: string;
  invoiceNumber: string;
  collectionAmountMinor: string;
  staff: { finance: Staff };
}

let server: Awaited<ReturnType<typeof startSpecServer<Info>>> | undefined;
let info: Info;

test.beforeAll(async () => {
  server = await startSpecServer<Info>('test/browser/serve-story.ts', 90_000);
  info = server.info;
});

test.afterAll(async () => server?.stop());

/** The merchant's own server calling the API with its sandbox key. */
async function merchantApi(method: string, urlPath: string, body?: unknown): Promise<any> {
  const res = await fetch(`${info.apiUrl}/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${info.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  expect(res.status, `${method} ${urlPath}: ${JSON.stringify(json)}`).toBe(200);
  return json;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `/tmp/story-${name}.png`, fullPage: true });

test('invoice → checkout → hosted page → sandbox payment → paid in the back office → partial refund with step-up → ledger balanced', async ({ browser }) => {
  test.setTimeout(150_000);
  expect(info.collectionAmountMinor).toBe('71234'); // 400 runs × 25 cents = 100.00 USD at 7.1234

  // 1. The merchant's server mints a checkout for the invoice.
  const checkout = await merchantApi('POST', `/invoices/${info.invoiceId}/checkout`, { channel: 'wechat' });
  expect(checkout).toMatchObject({ channel: 'wechat', status: 'open', amountMinor: '71234', currency: 'CNY' });
  expect(checkout.checkout.url).toMatch(new RegExp(`^${info.apiUrl}/pay/`));
  expect(await merchantApi('GET', `/invoices/${info.invoiceId}`)).toMatchObject({ status: 'payment_pending', paidAt: null, refundedMinor: '0' });

  // 2. The payer opens the hosted page on a phone.
  const payer = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
  await payer.goto(checkout.checkout.url);
  await expect(payer.getByRole('heading', { level: 1, name: info.merchantName })).toBeVisible();
  await expect(payer.locator('#invoice')).toHaveText(`Invoice ${info.invoiceNumber}`);
  await expect(payer.locator('#amount')).toHaveText('¥712.34CNY');
  await expect(payer.locator('#qr')).toBeVisible();
  await expect(payer.getByRole('timer')).toBeVisible();
  await shot(payer, '01-hosted-page');

  // 3. The sandbox payer pays: the sandbox WeChat Pay calls our callback, signed as WeChat Pay signs.
  const paid = await merchantApi('POST', `/sandbox/payment-orders/${checkout.paymentOrderId}/pay`);
  expect(paid).toMatchObject({ paymentOrderId: checkout.paymentOrderId, status: 'paid' });
  await expect(payer.getByRole('heading', { name: 'Paid — thank you' })).toBeVisible({ timeout: 10_000 });
  await expect(payer.locator('#qr')).toBeHidden();
  await shot(payer, '02-hosted-page-paid');
  const invoicePaid = await merchantApi('GET', `/invoices/${info.invoiceId}`);
  expect(invoicePaid).toMatchObject({ status: 'paid', refundedAt: null, refundedMinor: '0' });
  expect(invoicePaid.paidAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  await payer.close();

  // 4. Finance sees it in the back office.
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 }, locale: 'en-US' });
  const code = await signIn(page, info.backOfficeUrl, info.staff.finance);
  await page.getByRole('link', { name: 'Payments', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Payments' })).toBeVisible();
  await page.getByLabel('Merchant').selectOption({ label: info.merchantName });
  const orders = page.getByRole('table', { name: 'Payment orders' });
  const row = orders.getByRole('row').filter({ hasText: info.invoiceNumber });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('Paid');
  await expect(row).toContainText('WeChat Pay');
  await expect(row).toContainText('712.34');
  await expect(row).toContainText('sandbox');
  // The invoice with its status, and the order's.
  await expect(row.getByRole('cell').nth(1)).toHaveText(`${info.invoiceNumber}paid`);
  await expect(row.getByRole('cell').nth(5)).toHaveText('Paid');
  await expect(row.getByRole('button', { name: 'Refund…' })).toBeInViewport();
  await shot(page, '03-backoffice-payments');

  // 5. A partial refund, with the statement and a fresh code.
  await row.getByRole('button', { name: 'Refund…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: `Refund invoice ${info.invoiceNumber}` })).toBeVisible();
  await dialog.getByLabel('Amount to refund (CNY)').fill('123.45');
  await expect(dialog.getByTestId('this-refund')).toHaveText('−123.45 CNY');
  await expect(dialog.getByTestId('refund-remains')).toHaveText('588.89 CNY');
  await dialog.getByLabel(/^Reason/).fill('45 agent runs failed on the customer side');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await shot(page, '04-refund-dialog');
  await dialog.getByRole('button', { name: 'Refund 123.45 CNY' }).click();
  await expect(page.getByTestId('notice')).toContainText(`Refund of 123.45 CNY on ${info.invoiceNumber}`);
  await shot(page, '05-refund-asked');

  // WeChat Pay refunds asynchronously: the sandbox channel's notification settles it about a second later.
  await page.getByRole('link', { name: 'Refunds', exact: true }).click();
  const refunds = page.getByRole('table', { name: 'Refunds' });
  const refundRow = refunds.getByRole('row').filter({ hasText: '123.45 CNY' });
  await expect(async () => {
    await page.reload();
    await expect(refundRow).toContainText('Succeeded', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(refundRow).toContainText(info.invoiceNumber);
  await expect(refundRow).toContainText('45 agent runs failed on the customer side');
  await shot(page, '06-refunds');

  // 6. The merchant sees the collection state on the invoice; the ledger verifies and balances.
  const afterRefund = await merchantApi('GET', `/invoices/${info.invoiceId}`);
  expect(afterRefund).toMatchObject({ status: 'paid', paidAt: invoicePaid.paidAt, refundedAt: null, refundedMinor: '12345' });
  await page.getByRole('link', { name: 'Ledger', exact: true }).click();
  await page.getByRole('button', { name: 'Verify ledger' }).click();
  await expect(page.getByTestId('notice')).toContainText('Ledger intact');
  await expect(page.getByTestId('notice')).toContainText('every currency sums to zero');
  await shot(page, '07-ledger-verified');
});
