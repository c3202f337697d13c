/**
 * `npm run bench:desktop` — the back office as staff feel it, measured in Chromium (issue 11).
 *
 * Needs the renderer built (npm run build:renderer, or BUFFMONEY_RENDERER_OUT=<dir>); builds
 * nothing itself. Starts test/browser/serve-large.ts (100,000 invoices, real SQLite, real loopback
 * transport), drives Debian's Chromium (headless, --disable-gpu) with @playwright/test and prints:
 *
 * 1. sign-in interactive: navigation start → the sign-in form is in the DOM (React attaches its
 *    handlers in the same commit, so it is usable then). Fresh browser context each time, median of
 *    3. Target ≤ 1.5 s.
 * 2. first render of the invoice list: click on the "Invoices" link → first invoice row in the
 *    DOM and the frame after it painted (a rAF, then a task after that frame). The rest of the
 *    100,000 rows arrive in the background (time also printed). Target ≤ 500 ms.
 * 3. p95 frame time while scrolling: requestAnimationFrame deltas while a script moves scrollTop
 *    every frame for 3 s, once at a steady wheel-like speed (~3,000 px/s) and once flinging through
 *    the list (~300,000 px/s: every frame a new set of rows). Target ≤ 16.7 ms.
 *    How it is measured matters: headless Chromium without a GPU still produces frames on a 60 Hz
 *    clock, so deltas are quantised to ~16.7 ms and a dropped frame shows as ~33 ms; the p95 says
 *    whether more than 5 % of frames were dropped. Shared CPUs make figures noisy: run it twice.
 * 4. what loading costs per page size (bridge round-trip, transfer + JSON.parse) — the figures
 *    behind useAllPages' page size.
 *
 * Figures to compare, never assertions: each is printed beside its target with PASS or MISS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Page, chromium } from '@playwright/test';
import * as OTPAuth from 'otpauth';

const root = path.resolve(import.meta.dirname, '..');
const rendererDir = process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer');
if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
  console.error(`bench:desktop needs the built renderer in ${rendererDir}: run npm run build:renderer first (or set BUFFMONEY_RENDERER_OUT).`);
  process.exit(1);
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
const TARGETS = { signInMs: 1500, firstRenderMs: 500, p95FrameMs: 16.7 };

interface Staff {
  email: string;
  password: string;
  totpSecret: string;
}
interface LargeInfo {
  url: string;
  staff: Record<string, Staff>;
  invoices: number;
  seedMs: number;
  insertMs: number;
}

async function startLargeServer(): Promise<{ info: LargeInfo; child: ChildProcess; tmp: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-bench-desktop-'));
  const infoFile = path.join(tmp, 'info.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/browser/serve-large.ts', infoFile], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BUFFMONEY_RENDERER_OUT: rendererDir },
  });
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(infoFile)) {
    if (child.exitCode !== null) throw new Error(`serve-large.ts exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('serve-large.ts did not start within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 50));
  return { info: JSON.parse(fs.readFileSync(infoFile, 'utf8')) as LargeInfo, child, tmp };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
// Judged on the figure as printed (0.1 ms): frame deltas come in whole vsyncs of 16.67 ms plus
// timer jitter, so a p95 of one vsync prints as 16.7 and meets the 16.7 ms target.
const verdict = (value: number, target: number) => (Math.round(value * 10) / 10 <= target ? 'PASS' : 'MISS');
const line = (what: string, value: number, target: number, unit = 'ms', extra = '') =>
  console.log(`${what.padEnd(44)} ${value.toFixed(1).padStart(8)} ${unit}   target ≤ ${target} ${unit}   ${verdict(value, target)}${extra ? `   (${extra})` : ''}`);

async function signIn(page: Page, info: LargeInfo, who: Staff) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(who.totpSecret), algorithm: 'SHA1', digits: 6, period: 30 });
  await page.goto(info.url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Two-factor code').fill(totp.generate());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Invoices' }).waitFor();
}

/** Records (in the page) when the sign-in form's password field first exists, relative to navigation start. */
const SIGN_IN_PROBE = `(() => {
  const seen = () => {
    if (window.__signInAt === undefined && document.querySelector('input[type=password]')) window.__signInAt = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
})();`;

async function measureSignIn(browser: Awaited<ReturnType<typeof chromium.launch>>, info: LargeInfo) {
  const runs: Array<{ interactive: number; dcl: number; load: number }> = [];
  for (let i = 0; i < 3; i++) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    await context.addInitScript(SIGN_IN_PROBE);
    const page = await context.newPage();
    await page.goto(info.url, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { __signInAt?: number }).__signInAt !== undefined);
    runs.push(
      await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { interactive: (window as unknown as { __signInAt: number }).__signInAt, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd };
      }),
    );
    await context.close();
  }
  return { interactive: median(runs.map((r) => r.interactive)), runs };
}

/** Click on the nav link → first invoice row painted; then until every row has loaded. */
async function measureFirstRender(page: Page, total: number) {
  const timing = await page.evaluate(async () => {
    const w = window as unknown as { __firstRow?: number; __painted?: number };
    const link = [...document.querySelectorAll('nav a')].find((a) => a.textContent?.trim() === 'Invoices') as HTMLAnchorElement;
    const observer = new MutationObserver(() => {
      if (w.__firstRow === undefined && document.querySelector('table[aria-label="Invoices"] tbody tr[aria-rowindex]')) {
        w.__firstRow = performance.now();
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => (w.__painted = performance.now()), 0));
      }
    });
    observer.observe(document, { childList: true, subtree: true });
    const t0 = performance.now();
    link.click();
    while (w.__painted === undefined) await new Promise((r) => setTimeout(r, 5));
    // Where the time went: the back-office calls made since the click, relative to it.
    const calls = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((e) => e.startTime >= t0 && e.name.includes('/backoffice/'))
      .map((e) => `${e.name.replace(/^.*\/backoffice\//, '')} ${(e.startTime - t0).toFixed(0)}→${(e.responseEnd - t0).toFixed(0)} ms`);
    return { firstRow: (w.__firstRow ?? 0) - t0, painted: w.__painted - t0, t0, calls };
  });
  const expected = `${total.toLocaleString('en-US')} rows`;
  await page.waitForFunction((text) => document.querySelector('[data-testid="row-count"]')?.textContent === text, expected, { timeout: 120_000, polling: 50 });
  const allLoaded = (await page.evaluate(() => performance.now())) - timing.t0;
  return { ...timing, allLoaded };
}

/** rAF deltas while scrollTop moves by `pxPerSecond` for `ms` (a string: tsx's helpers must not leak into the page). */
async function measureScroll(page: Page, pxPerSecond: number, ms: number): Promise<number[]> {
  return page.evaluate(`new Promise((resolve) => {
    const scroller = document.querySelector('.dt-scroll');
    scroller.scrollTop = 0;
    const deltas = [];
    let start, last;
    function frame(now) {
      if (start === undefined) start = now;
      if (last !== undefined) deltas.push(now - last);
      last = now;
      const max = Math.max(1, scroller.scrollHeight - scroller.clientHeight);
      scroller.scrollTop = (((now - start) / 1000) * ${pxPerSecond}) % max;
      if (now - start < ${ms}) requestAnimationFrame(frame);
      else resolve(deltas);
    }
    requestAnimationFrame(frame);
  })`);
}

/** One invoices:list page at each size: round-trip to headers, then body + JSON.parse. */
async function measurePageSizes(page: Page) {
  return page.evaluate(async () => {
    const out: Array<{ limit: number; roundTripMs: number; bodyAndParseMs: number; parseMs: number; bytes: number }> = [];
    for (const limit of [100, 500, 1000, 2000, 5000]) {
      const samples: Array<(typeof out)[number]> = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const res = await fetch('/backoffice/rpc/invoices:list', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: { limit } }),
        });
        const t1 = performance.now();
        const text = await res.text();
        const t2 = performance.now();
        JSON.parse(text);
        const t3 = performance.now();
        samples.push({ limit, roundTripMs: t1 - t0, bodyAndParseMs: t3 - t1, parseMs: t3 - t2, bytes: text.length });
      }
      samples.sort((a, b) => a.roundTripMs + a.bodyAndParseMs - (b.roundTripMs + b.bodyAndParseMs));
      out.push(samples[1]);
    }
    return out;
  });
}

const { info, child, tmp } = await startLargeServer();
console.log(
  `bench:desktop — Chromium ${CHROMIUM_ARGS.includes('--disable-gpu') ? '(headless, no GPU)' : ''}, ${info.invoices.toLocaleString('en-US')} invoices seeded in ${info.insertMs} ms (server ready in ${info.seedMs} ms), ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`,
);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  const signInTiming = await measureSignIn(browser, info);
  line(
    'Sign-in interactive (nav start → form)',
    signInTiming.interactive,
    TARGETS.signInMs,
    'ms',
    `median of ${signInTiming.runs.length}: ${signInTiming.runs.map((r) => r.interactive.toFixed(0)).join(', ')} ms; DOMContentLoaded ${median(signInTiming.runs.map((r) => r.dcl)).toFixed(0)} ms`,
  );

  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  await signIn(page, info, info.staff.bench);
  // Sign-in lands on Home, whose overview sums all 100,000 invoices on the server: let it finish,
  // as an officer reads the home screen before moving on, so the click measures the list alone.
  await page.waitForLoadState('networkidle');
  const first = await measureFirstRender(page, info.invoices);
  line(
    'Invoice list first render (click → painted)',
    first.painted,
    TARGETS.firstRenderMs,
    'ms',
    `first row in DOM ${first.firstRow.toFixed(0)} ms; all ${info.invoices.toLocaleString('en-US')} rows loaded after ${(first.allLoaded / 1000).toFixed(2)} s`,
  );
  console.log(`  calls before the first paint: ${first.calls.join('; ') || 'none'}`);

  for (const [what, speed] of [
    ['steady, 3,000 px/s', 3_000],
    ['fling, 300,000 px/s', 300_000],
  ] as const) {
    // The last pages' row model and the garbage of the earlier ones are dealt with first (an
    // officer does not start scrolling in the millisecond the count reaches 100,000).
    await page.evaluate(() => new Promise((r) => requestIdleCallback(() => setTimeout(r, 1000), { timeout: 5000 })));
    const deltas = await measureScroll(page, speed, 3_000);
    const p95 = percentile(deltas, 95);
    line(
      `Scroll p95 frame (${what})`,
      p95,
      TARGETS.p95FrameMs,
      'ms',
      `${deltas.length} frames, median ${median(deltas).toFixed(1)} ms, max ${Math.max(...deltas).toFixed(1)} ms, ${deltas.filter((d) => d > 20).length} over 20 ms`,
    );
  }

  console.log('\ninvoices:list page cost (median of 3, in the page over loopback HTTP):');
  console.log('  limit   round-trip   body+JSON.parse   (parse alone)      bytes   µs/row   est. 100k load');
  for (const r of await measurePageSizes(page)) {
    const perPage = r.roundTripMs + r.bodyAndParseMs;
    console.log(
      `  ${String(r.limit).padStart(5)}   ${r.roundTripMs.toFixed(1).padStart(7)} ms   ${r.bodyAndParseMs.toFixed(1).padStart(10)} ms   ${r.parseMs.toFixed(1).padStart(8)} ms   ${String(r.bytes).padStart(9)}   ${((perPage * 1000) / r.limit).toFixed(1).padStart(6)}   ${((perPage * (info.invoices / r.limit)) / 1000).toFixed(1).padStart(6)} s`,
    );
  }
  await context.close();
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(tmp, { recursive: true, force: true });
}
