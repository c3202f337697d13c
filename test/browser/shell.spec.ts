import { expect, test } from '@playwright/test';
import { readSeedInfo, screenshotter, signIn, authenticator } from './helpers.js';

/**
 * The shell around the screens, in Chromium against the real loopback transport: the first
 * sign-in's two-factor enrolment with a QR code, the language switch on the sign-in screen, a
 * lost session returning to sign-in with its reason, and the Settings screen of the browser build.
 */

const info = readSeedInfo();
const shot = screenshotter('');

test('first sign-in: the password gets a fresh two-factor key as a QR code, and a code from it signs in', async ({ page }) => {
  const who = info.staff.enrol;
  await page.goto(info.url);
  await page.getByRole('button', { name: 'First sign-in? Set up two-factor' }).click();
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Set up two-factor', exact: true }).click();

  const qr = page.getByTestId('enrol-qr');
  await expect(qr).toBeVisible();
  expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
  const secret = ((await page.getByTestId('enrol-secret').textContent()) ?? '').replace(/\s/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  // A key only its owner has seen: not the one made when the admin created the account.
  expect(secret).not.toBe(who.totpSecret);
  await shot(page, '20-enrolment-qr');

  await page.getByLabel('Two-factor code').fill(await authenticator(secret)());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Back office' })).toContainText(who.email);

  // Enrolled: setting up again is refused, in words and with the code.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'First sign-in? Set up two-factor' }).click();
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Set up two-factor', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('already_enrolled');
});

test('the sign-in screen switches language', async ({ page }) => {
  await page.goto(info.url);
  await page.getByLabel('Language').selectOption('zh');
  await expect(page.getByRole('heading', { name: 'BuffMoney 后台' })).toBeVisible();
  await expect(page.getByRole('button', { name: '登录', exact: true })).toBeVisible();
  await shot(page, '21-sign-in-zh');
  await page.getByLabel('语言').selectOption('en');
  await expect(page.getByRole('heading', { name: 'BuffMoney back office' })).toBeVisible();
});

test('a lost session returns to sign-in with the reason shown', async ({ page, context }) => {
  await signIn(page, info.url, info.staff.lang);
  await context.clearCookies();
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('session_required');
});

test('settings in the browser build: what this build is, and the language, without the desktop controls', async ({ page }) => {
  await signIn(page, info.url, info.staff.settings);
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  await expect(page.getByTestId('browser-build')).toContainText('browser build');
  await expect(page.getByLabel('Database file')).toHaveCount(0);
  await shot(page, '22-settings-browser');
});
