import fs from 'node:fs';
import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn, type Staff } from './helpers.js';
import Papa from 'papaparse';

/**
 * The 100,000-row invoice list (test/browser/serve-large.ts): loaded page by page in the
 * background, rendered virtualised, scrolled to the end, sorted by an amount, filtered by a
 * customer, and exported to CSV, all in Chromium against the real loopback transport.
 */

interface LargeInfo {
  url: string;
  staff: Record<string, Staff>;
  invoices: number;
  known: { customer: string; customerInvoices: number; formulaCustomers: string[]; largestSubtotal: { id: string; minor: string } };
}
const info = readSeedInfo<LargeInfo>('BACKOFFICE_LARGE_INFO');
const shot = screenshotter('tables-', { fullPage: false });

/** Opens the invoice list and waits until every row has arrived. */
async function openInvoices(page: Page) {
  const started = Date.now();
  await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Invoices' }).click();
  const table = page.getByRole('table', { name: 'Invoices', exact: true });
  await expect(table.getByRole('row').nth(1)).toBeVisible();
  const firstRows = Date.now() - started;
  const count = page.locator('.dt').filter({ has: table }).getByTestId('row-count');
  await expect(count).toHaveText(`${info.invoices.toLocaleString('en-US')} rows`, { timeout: 60_000 });
  test.info().annotations.push({ type: 'timing', description: `first rows after ${firstRows} ms, all ${info.invoices} after ${Date.now() - started} ms` });
  return { table, count, scroller: page.locator('.dt-scroll').filter({ has: table }) };
}

async function downloadCsv(page: Page, table: ReturnType<Page['getByRole']>) {
  const download = page.waitForEvent('download');
  await page.locator('.dt').filter({ has: table }).getByRole('button', { name: 'Download CSV' }).click();
  const file = await download;
  const text = fs.readFileSync((await file.path())!, 'utf8');
  return { name: file.suggestedFilename(), text };
}

function parseCsv(text: string): string[][] {
  expect(text.charCodeAt(0)).toBe(0xfeff); // BOM: Excel reads the Chinese names as UTF-8
  const parsed = Papa.parse<string[]>(text.slice(1), { delimiter: ',', newline: '\r\n', skipEmptyLines: true });
  expect(parsed.errors).toEqual([]);
  return parsed.data;
}

test('100,000 invoices: loaded in the background, virtualised, scrolled to the end, sorted by amount, filtered, exported to CSV', async ({ page }) => {
  test.setTimeout(180_000);
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await signIn(page, info.url, info.staff.tables);
  const { table, count, scroller } = await openInvoices(page);

  // Virtualised: the whole list is counted, only the rows in view are in the DOM.
  await expect(table).toHaveAttribute('aria-rowcount', String(info.invoices + 1));
  const inDom = await table.locator('tbody tr:not(.dt-spacer)').count();
  expect(inDom).toBeGreaterThan(10);
  expect(inDom).toBeLessThan(100);
  // Every row the same height: the virtualiser's arithmetic depends on it.
  const heights = await table.locator('tbody tr:not(.dt-spacer)').evaluateAll((trs) => [...new Set(trs.map((tr) => tr.getBoundingClientRect().height))]);
  expect(heights).toHaveLength(1);
  expect(heights[0]).toBeGreaterThanOrEqual(28);
  expect(heights[0]).toBeLessThanOrEqual(32);
  await shot(page, '01-invoices-100k-top');

  // To the end: the last rows appear, and the header is still there.
  await scroller.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  const last = table.locator(`tr[aria-rowindex="${info.invoices + 1}"]`);
  await expect(last).toBeVisible();
  await expect(table.locator(`tr[aria-rowindex="${info.invoices - 5}"]`)).toBeVisible();
  await expect(table.getByRole('columnheader', { name: 'Subtotal' })).toBeVisible();
  await shot(page, '02-invoices-100k-bottom');

  // Sort by an amount, largest first (exact minor-unit comparison): the seeded largest comes first.
  await scroller.evaluate((el) => {
    el.scrollTop = 0;
  });
  const subtotal = table.getByRole('columnheader', { name: 'Subtotal' });
  await subtotal.getByRole('button').click();
  await expect(subtotal).toHaveAttribute('aria-sort', 'ascending');
  await subtotal.getByRole('button').click();
  await expect(subtotal).toHaveAttribute('aria-sort', 'descending');
  const top = table.locator('tr[aria-rowindex="2"]');
  await expect(top).toContainText('9,876,543,210.12');
  await expect(top).toHaveAttribute('data-row-id', info.known.largestSubtotal.id);
  await shot(page, '03-invoices-sorted-by-subtotal');

  // Export: all 100,000 rows as sorted, not only the ones in view; amounts as exact decimals or minor units, never "1,234.56 USD".
  const all = await downloadCsv(page, table);
  expect(all.name).toMatch(/^invoices-\d{4}-\d{2}-\d{2}\.csv$/);
  const allRows = parseCsv(all.text);
  expect(allRows.length).toBe(info.invoices + 1);
  const header = allRows[0];
  expect(header.slice(0, 2)).toEqual(['Number', 'Customer']);
  const subtotalAt = header.indexOf('Subtotal');
  expect(subtotalAt).toBeGreaterThan(0);
  expect(['987654321012', '9876543210.12']).toContain(allRows[1][subtotalAt]);
  // (plain checks, one expect each: 100,000 expect() calls would each become a traced step)
  expect(allRows.slice(1).filter((r) => !/^-?\d+(\.\d+)?$/.test(r[subtotalAt]))).toEqual([]);
  // Formula-safe: no cell starts with = + - @ unless it is a plain number.
  const unsafe = allRows.flat().filter((c) => /^[=+\-@\t\r]/.test(c) && !/^-?\d+(\.\d+)?$/.test(c));
  expect(unsafe).toEqual([]);
  expect(info.known.formulaCustomers.filter((name) => !allRows.some((r) => r[1] === `'${name}`))).toEqual([]);

  // Filter by a customer: the count says how many of all, every row shown is theirs.
  const filter = page.getByRole('searchbox', { name: 'Filter Invoices' });
  await filter.fill('HYPERLINK');
  await expect(count).toHaveText(`${info.known.customerInvoices} of ${info.invoices.toLocaleString('en-US')} rows`);
  await expect(table).toHaveAttribute('aria-rowcount', String(info.known.customerInvoices + 1));
  const shown = await table.locator('tbody tr:not(.dt-spacer)').allInnerTexts();
  expect(shown.length).toBeGreaterThan(10); // the rows in view (the table stays virtualised)
  expect(shown.filter((text) => !text.includes('=HYPERLINK('))).toEqual([]);
  const filtered = parseCsv((await downloadCsv(page, table)).text);
  expect(filtered.length).toBe(info.known.customerInvoices + 1);
  expect(new Set(filtered.slice(1).map((row) => row[1]))).toEqual(new Set([`'${info.known.formulaCustomers[0]}`]));
  // …and the file is still sorted by subtotal, largest first.
  const amounts = filtered.slice(1).map((r) => r[subtotalAt]);
  expect(amounts).toEqual([...amounts].sort((a, b) => Number(b) - Number(a)));

  await filter.fill(info.known.customer.slice(-4)); // Chinese text in the filter box
  await expect(count).toHaveText(`${info.known.customerInvoices} of ${info.invoices.toLocaleString('en-US')} rows`);
  await expect(table.getByRole('row').filter({ hasText: info.known.customer }).first()).toBeVisible();
  await shot(page, '04-invoices-filtered-by-customer');

  await filter.fill('no such customer anywhere');
  await expect(count).toHaveText(`0 of ${info.invoices.toLocaleString('en-US')} rows`);
  await expect(table).toContainText('No rows match');
  expect(cspViolations).toEqual([]);
});

test('scrolling 100,000 rows keeps the rows under the sticky header in step with the scroll position', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, info.url, info.staff.tablesort);
  const { table, scroller } = await openInvoices(page);
  const rowHeight = await table
    .locator('tbody tr[aria-rowindex]')
    .first()
    .evaluate((tr) => tr.getBoundingClientRect().height);
  for (const fraction of [0.25, 0.5, 0.999]) {
    const expected = await scroller.evaluate(
      (el, [f, h]) => {
        el.scrollTop = Math.round((el.scrollHeight - el.clientHeight) * f);
        // The first row fully below the sticky header, by arithmetic on the fixed row height.
        return Math.ceil(el.scrollTop / h) + 2;
      },
      [fraction, rowHeight],
    );
    const row = table.locator(`tr[aria-rowindex="${expected}"]`);
    await expect(row).toBeVisible();
    const [headBottom, rowTop] = await Promise.all([
      table
        .locator('th')
        .first()
        .evaluate((h) => h.getBoundingClientRect().bottom),
      row.evaluate((r) => r.getBoundingClientRect().top),
    ]);
    expect(Math.abs(rowTop - headBottom)).toBeLessThan(rowHeight + 1);
  }
  await shot(page, '05-invoices-scrolled-middle');
});
