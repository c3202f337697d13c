import { type Page, expect, test } from '@playwright/test';
import { startSpecServer } from './helpers.js';

/**
 * The hosted checkout page (server/checkout-page) in Chromium: it starts its own server
 * (test/browser/serve-checkout.ts: the page's router, a real SQLite file, the fake channels), so
 * it needs nothing from the global set-up's back office. One server for the file, its tests in
 * series; each works on its own invoice. Screenshots go to /tmp/checkout-page-*.png.
 */

const PHONE = { width: 390, height: 844 };

interface Info {
  url: string;
  tokens: { pay: string; expired: string; zh: string; switch: string };
}

let server: Awaited<ReturnType<typeof startSpecServer<Info>>> | undefined;
let info: Info;

test.describe.configure({ mode: 'serial' });
test.use({ viewport: PHONE, locale: 'en-US' });

test.beforeAll(async () => {
  server = await startSpecServer<Info>('test/browser/serve-checkout.ts');
  info = server.info;
});

test.afterAll(async () => server?.stop());

/** Collects CSP refusals: the page must need nothing its policy forbids. */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to ${e.violatedDirective}: ${e.blockedURI}`));
  });
  return violations;
}

async function expectQrShown(page: Page) {
  const qr = page.locator('#qr');
  await expect(qr).toBeVisible();
  await expect(qr).toHaveAttribute('src', /^data:image\/svg\+xml;base64,/);
  expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
}

test('open the page, see what is due and the QR with a ticking countdown; pay through the sandbox channel and it turns to paid without a reload', async ({ page }) => {
  const violations = await watchCsp(page);
  const response = await page.goto(`${info.url}/pay/${info.tokens.pay}`);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expect(page).toHaveTitle('Pay Lumen AI 光年智能');
  await expect(page.getByRole('heading', { level: 1, name: 'Lumen AI 光年智能' })).toBeVisible();
  await expect(page.locator('#invoice')).toHaveText(/^Invoice BM-2026-\d{6}$/);
  await expect(page.locator('#amount')).toHaveText('¥712.34CNY');
  await expect(page.locator('#period')).toHaveText('May 1\u2009–\u200931, 2026');
  await expectQrShown(page);
  await expect(page.getByText('Open WeChat and scan the code to pay')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Alipay' })).toBeVisible();

  const countdown = page.getByRole('timer');
  await expect(countdown).toHaveText(/^1:59:\d\d$|^2:00:00$/);
  const first = await countdown.textContent();
  await expect(countdown).not.toHaveText(first ?? '', { timeout: 3_000 });
  await page.screenshot({ path: '/tmp/checkout-page-en.png', fullPage: true });

  // The same document all along: a reload would lose this mark.
  await page.evaluate(() => {
    (window as unknown as { stillHere: boolean }).stillHere = true;
  });
  const paid = await fetch(`${info.url}/__test/pay/${info.tokens.pay}`, { method: 'POST' });
  expect(await paid.json()).toMatchObject({ outcome: 'applied' });
  await expect(page.getByRole('heading', { name: 'Paid — thank you' })).toBeVisible({ timeout: 6_000 });
  await expect(page.locator('#qr')).toBeHidden();
  await expect(page.locator('#paid-at')).toHaveText(/2026/);
  await expect(page).toHaveTitle('Paid — Lumen AI 光年智能');
  expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
  await page.screenshot({ path: '/tmp/checkout-page-paid.png', fullPage: true });
  expect(violations).toEqual([]);
});

test('an order already past its expiry shows that it expired', async ({ page }) => {
  const violations = await watchCsp(page);
  await page.goto(`${info.url}/pay/${info.tokens.expired}`);
  await expect(page.getByRole('heading', { name: 'This payment request expired' })).toBeVisible();
  await expect(page.locator('#qr')).toBeHidden();
  await expect(page.getByRole('button', { name: 'Get a new payment code' })).toBeVisible();
  await page.screenshot({ path: '/tmp/checkout-page-expired.png', fullPage: true });
  // A new code: a new order for the same invoice, on a page of its own.
  await page.getByRole('button', { name: 'Get a new payment code' }).click();
  await expect(page).not.toHaveURL(new RegExp(`${info.tokens.expired}$`));
  await expectQrShown(page);
  await expect(page.getByRole('timer')).toBeVisible();
  expect(violations).toEqual([]);
});

test.describe('in Chinese', () => {
  test.use({ locale: 'zh-CN' });

  test('Simplified Chinese with Accept-Language: zh-CN', async ({ page }) => {
    const violations = await watchCsp(page);
    // The browser's locale is what sets Accept-Language (an extra header would not replace it).
    const response = await page.goto(`${info.url}/pay/${info.tokens.zh}`);
    expect(await response?.request().headerValue('accept-language')).toBe('zh-CN');
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
    await expect(page).toHaveTitle('向Lumen AI 光年智能付款');
    await expect(page.locator('#invoice')).toHaveText(/^账单 BM-2026-\d{6}$/);
    await expect(page.locator('#period')).toHaveText('2026年5月1日至2026年5月31日');
    await expect(page.locator('#amount')).toHaveText('¥712.34CNY');
    await expect(page.getByText('打开微信，扫描二维码付款')).toBeVisible();
    await expect(page.getByRole('button', { name: '支付宝' })).toBeVisible();
    await expectQrShown(page);
    await page.screenshot({ path: '/tmp/checkout-page-zh.png', fullPage: true });
    expect(violations).toEqual([]);
  });
});

test('on a desktop: switch to Alipay, and get that channel’s order for the same invoice', async ({ page }) => {
  const violations = await watchCsp(page);
  await page.setViewportSize({ width: 1360, height: 860 });
  await page.goto(`${info.url}/pay/${info.tokens.switch}`);
  await expectQrShown(page);
  const invoiceNumber = (await page.locator('#invoice').textContent()) ?? '';
  await page.screenshot({ path: '/tmp/checkout-page-en-desktop.png' });
  await page.getByRole('button', { name: 'Alipay' }).click();
  await expect(page.getByText('Open Alipay and scan the code to pay')).toBeVisible();
  await expect(page).not.toHaveURL(new RegExp(`${info.tokens.switch}$`));
  await expect(page.locator('#invoice')).toHaveText(invoiceNumber);
  await expectQrShown(page);
  await expect(page.getByRole('button', { name: 'WeChat Pay' })).toBeVisible();
  await page.screenshot({ path: '/tmp/checkout-page-alipay-desktop.png' });
  expect(violations).toEqual([]);
});
