import { type Page, expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn } from './helpers.js';

/**
 * The admin screen families as staff use them: KYB detail (documents, request-info), merchants
 * (fee, suspend, reactivate, destination history), staff (add with the enrolment QR, disable) and the
 * audit log (entries, detail, verify, in Chinese once). Chromium, the built renderer, the loopback
 * transport and a real SQLite file seeded by test/browser/seeds/admin.ts; no mocked core.
 */

const info = readSeedInfo();
const shot = screenshotter('admin-');

/** The image really decoded (the CSP allows data: images; a blocked or broken one has no pixels). */
async function expectDecoded(img: ReturnType<Page['getByRole']>) {
  await expect(img).toBeVisible();
  await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
}

test('KYB detail: open a submission, view its documents, ask the merchant for more information', async ({ page }) => {
  await signIn(page, info.url, info.staff.kybdetail);
  await page.getByRole('link', { name: 'KYB review' }).click();
  await page.getByRole('table', { name: 'KYB submissions' }).getByRole('row').filter({ hasText: 'Heron Vision Pte Ltd' }).click();
  await expect(page.getByRole('heading', { name: /Heron Vision Pte Ltd/ })).toBeVisible();
  const facts = page.getByRole('definition').filter({ hasText: '202612345K' });
  await expect(facts).toBeVisible();
  await expect(page.getByText('is recorded in the audit log under your name')).toBeVisible();

  const documents = page.getByRole('table', { name: 'KYB documents' });
  await expect(documents.getByRole('row')).toHaveCount(4);
  await documents.getByRole('button', { name: 'View Owner’s identity document' }).click();
  const viewer = page.getByRole('region', { name: 'Document viewer' });
  await expectDecoded(viewer.getByRole('img', { name: /director-passport\.png/ }));
  await expect(viewer).toContainText('SHA-256 checked');
  await shot(page, '01-kyb-detail-document');

  await documents.getByRole('button', { name: 'View Company registration' }).click();
  await expect(viewer).toContainText('PDF files are not displayed');
  const download = page.waitForEvent('download');
  await viewer.getByRole('link', { name: 'Download acra-bizfile.pdf' }).click();
  expect((await download).suggestedFilename()).toBe('acra-bizfile.pdf');

  await page.getByRole('button', { name: 'Request information…' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('Information requested');
  await expect(dialog.getByTestId('consequence')).toContainText('shows your message to the merchant');
  await expect(dialog.getByLabel('Two-factor code')).toHaveCount(0); // a session is enough for a request
  await dialog.getByLabel('Message to the merchant').fill('Please send a certified copy of the director’s passport, all pages.');
  await dialog.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByTestId('notice')).toContainText('Asked Heron Vision Pte Ltd for more information');
  await expect(page.getByRole('heading', { name: /Heron Vision Pte Ltd/ })).toContainText('Information requested');
  await expect(page.getByRole('definition').filter({ hasText: 'certified copy' })).toBeVisible();
  const history = page.getByRole('table', { name: 'KYB review history' });
  await expect(history.getByRole('row').nth(1)).toContainText('Requested information');
  await expect(history.getByRole('row').nth(1)).toContainText(info.staff.kybdetail.email);
  await shot(page, '02-kyb-info-requested');
});

test('Merchants: find one, set its fee, suspend and reactivate it with step-up, read its destination history', async ({ page }) => {
  test.setTimeout(180_000); // three step-ups: each waits for the next code, as at a desk
  const code = await signIn(page, info.url, info.staff.merchants);
  await page.getByRole('link', { name: 'Merchants' }).click();
  await page.getByLabel('Search').fill('kestrel');
  const list = page.getByRole('table', { name: 'Merchants' });
  await expect(list.getByRole('row')).toHaveCount(2);
  const row = list.getByRole('row').filter({ hasText: 'Kestrel Labs' });
  await expect(row).toContainText('0.80 %');
  await expect(row).toContainText('Not submitted');
  await page.getByLabel('Search').fill('');
  await expect(list.getByRole('row').filter({ hasText: 'Nimbus Agents' })).toBeVisible();
  await shot(page, '03-merchants-list');

  await list.getByRole('row').filter({ hasText: 'Kestrel Labs' }).click();
  await expect(page.getByRole('heading', { name: /Kestrel Labs/ })).toBeVisible();
  const history = page.getByRole('table', { name: 'Destination history' });
  await expect(history.getByRole('row')).toHaveCount(4);
  await expect(history).toContainText('Sign-up');
  await expect(history).toContainText('Merchant dashboard');
  await expect(history).toContainText('••••6789');
  await expect(history).not.toContainText('6222 0210');
  await expect(page.getByTestId('cooling-off')).toContainText('Payouts are held until');

  // Fee: old → new, stated before it runs.
  await page.getByRole('button', { name: 'Set fee…' }).click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel(/New fee/).fill('120');
  await expect(dialog.getByTestId('consequence')).toContainText('from 0.80 % (80 bps) to 1.20 % (120 bps)');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await shot(page, '04-merchant-set-fee');
  await dialog.getByRole('button', { name: 'Set fee' }).click();
  await expect(page.getByTestId('notice')).toContainText('is now 1.20 % (was 0.80 %)');
  await expect(page.getByTestId('service-fee')).toHaveText('1.20 % (120 bps)');

  await page.getByRole('button', { name: 'Suspend…' }).click();
  dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('refused with merchant_suspended');
  await dialog.getByLabel(/^Reason/).fill('Chargeback spike under review');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Suspend merchant' }).click();
  await expect(page.getByTestId('notice')).toContainText('Kestrel Labs is suspended');
  await expect(page.getByRole('heading', { name: /Kestrel Labs/ })).toContainText('Suspended');
  await expect(page.getByTestId('last-suspension')).toContainText('Chargeback spike under review');
  await shot(page, '05-merchant-suspended');

  await page.getByRole('button', { name: 'Reactivate…' }).click();
  dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('its API keys work again');
  await expect(dialog.getByTestId('consequence')).toContainText('Chargeback spike under review'); // why it was suspended
  await dialog.getByLabel(/^Reason/).fill('Review closed: no fraud found');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Reactivate merchant' }).click();
  await expect(page.getByTestId('notice')).toContainText('Kestrel Labs is active again');
  await expect(page.getByRole('heading', { name: /Kestrel Labs/ })).toContainText('Active');

  // The audit log, opened on this merchant, shows the three changes just made, newest first.
  await page.getByRole('link', { name: 'Audit log for this merchant →' }).click();
  const entries = page.getByRole('table', { name: 'Audit entries' });
  await expect(entries.getByRole('row').nth(1)).toContainText('merchants:reactivate');
  await expect(entries.getByRole('row').nth(2)).toContainText('merchants:suspend');
  await expect(entries.getByRole('row').nth(3)).toContainText('merchants:set-fee');
  await entries.getByRole('row').nth(3).click();
  const entry = page.getByRole('region', { name: /^Audit entry #/ });
  await expect(entry.getByTestId('entry-input')).toContainText('"bps": 120');
  await expect(entry).toContainText(info.staff.merchants.email);
});

test('Staff: add a member with step-up and hand over the enrolment QR; disable them with step-up', async ({ page }) => {
  test.setTimeout(120_000); // two step-ups: the second waits for the next code
  const me = info.staff.staff;
  const code = await signIn(page, info.url, me);
  await page.getByRole('link', { name: 'Staff' }).click();
  const table = page.getByRole('table', { name: 'Staff members' });
  await expect(table.getByRole('row').filter({ hasText: me.email })).toContainText('You');
  // Last sign-in: I have one (just now); the member added below has none ("never").
  await expect(table.getByRole('row').filter({ hasText: me.email })).not.toContainText('never');

  await page.getByRole('button', { name: 'Add staff member…' }).click();
  const form = page.getByRole('form', { name: 'Add a staff member' });
  await form.getByLabel('Email').fill('not-an-email');
  await form.getByLabel(/Initial password/).fill('short');
  await form.getByRole('button', { name: 'Review…' }).click();
  await expect(form).toContainText('Enter a valid email address.');
  await expect(form).toContainText('At least 8 characters, or leave it empty.');
  await form.getByLabel('Email').fill('New.Analyst@BuffMoney.test');
  await form.getByLabel(/Initial password/).fill('');
  await form.getByLabel('Role').selectOption('finance');
  await form.getByRole('button', { name: 'Review…' }).click();

  let dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('with the Finance role');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Add staff member' }).click();
  const credentials = page.getByTestId('credentials');
  await expectDecoded(credentials.getByRole('img', { name: 'Enrolment QR code for new.analyst@buffmoney.test' }));
  await expect(credentials.getByTestId('totp-secret')).toHaveText(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
  await expect(credentials.getByTestId('generated-password')).toHaveText(/^\S{20}$/);
  await expect(credentials).toContainText('Shown once');
  await shot(page, '06-staff-added-qr');
  await credentials.getByRole('button', { name: 'I have handed these over' }).click();
  await expect(credentials).toHaveCount(0);

  const added = table.getByRole('row').filter({ hasText: 'new.analyst@buffmoney.test' });
  await expect(added).toContainText('Finance');
  await expect(added).toContainText('Not yet');
  await expect(added).toContainText('never'); // last sign-in
  await expect(added).toContainText(me.email); // added by
  await added.getByRole('button', { name: 'Disable… new.analyst@buffmoney.test' }).click();
  dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('consequence')).toContainText('every session they have ends now');
  await dialog.getByLabel('Two-factor code').fill(await code());
  await dialog.getByRole('button', { name: 'Disable staff member' }).click();
  await expect(page.getByTestId('notice')).toContainText('Disabled new.analyst@buffmoney.test; 0 sessions ended.');
  await expect(added).toContainText('Disabled');
  await expect(added.getByRole('button')).toHaveCount(0);
  await shot(page, '07-staff-disabled');
});

test('Audit log: the entries just made, one opened, the chain verified; once in Chinese', async ({ page }) => {
  const me = info.staff.audit;
  await signIn(page, info.url, me);
  // Reading a KYB submission and one of its documents is audited: make two entries of our own.
  await page.getByRole('link', { name: 'KYB review' }).click();
  await page.getByLabel('Status').selectOption('');
  await page.getByRole('table', { name: 'KYB submissions' }).getByRole('row').filter({ hasText: 'Lotus Robotics Ltd' }).click();
  await page.getByRole('table', { name: 'KYB documents' }).getByRole('button', { name: 'View Proof of bank account' }).click();
  await expect(page.getByRole('region', { name: 'Document viewer' })).toBeVisible();

  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Staff email').fill(me.email);
  const entries = page.getByRole('table', { name: 'Audit entries' });
  await expect(entries.getByRole('row')).toHaveCount(4);
  await expect(entries.getByRole('row').nth(1)).toContainText('kyb:export-document');
  await expect(entries.getByRole('row').nth(2)).toContainText('kyb:show');
  await expect(entries.getByRole('row').nth(3)).toContainText('staff:login');
  await entries.getByRole('row').nth(1).click();
  const entry = page.getByRole('region', { name: /^Audit entry #/ });
  await expect(entry.getByTestId('entry-input')).toContainText('"kind": "bankProof"');
  await expect(entry).toContainText('Previous hash');
  await entry.getByRole('button', { name: 'Close' }).click();

  // Outcome and dates narrow the same list: none of ours failed; all three are from today (UTC,
  // as every time on screen), none from tomorrow on.
  await page.getByLabel('Outcome').selectOption({ label: 'failed' });
  await expect(page.getByText('No audit entries match these filters.')).toBeVisible();
  await page.getByLabel('Outcome').selectOption({ label: 'Any outcome' });
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('From (UTC)').fill(day(0));
  await page.getByLabel('To (UTC, inclusive)').fill(day(0));
  await expect(entries.getByRole('row')).toHaveCount(4);
  await page.getByLabel('To (UTC, inclusive)').fill('');
  await page.getByLabel('From (UTC)').fill(day(1));
  await expect(page.getByText('No audit entries match these filters.')).toBeVisible();
  await page.getByLabel('From (UTC)').fill('');
  await expect(entries.getByRole('row')).toHaveCount(4);

  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('notice')).toContainText('Audit chain intact');
  await shot(page, '08-audit-log');

  await page.getByLabel('Language').selectOption('简体中文');
  await expect(page.getByRole('heading', { name: '审计日志', level: 1 })).toBeVisible();
  await expect(page.getByRole('button', { name: '校验哈希链' })).toBeVisible();
  await expect(page.getByRole('table', { name: '审计记录' })).toBeVisible();
  await shot(page, '09-audit-log-zh');
  await page.locator('select[name="language"]').selectOption('English');
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
});
