import { useEffect, useState } from 'react';

/** Parts the finance screens (Home, FX, Invoices, Ledger) share. */

/** A long command's progress (done of total) as the bridge reports it; indeterminate until the first report. */
export function RunProgress({ progress, label }: { progress: { done: number; total: number } | undefined; label: string }) {
  const total = progress && progress.total > 0 ? progress.total : undefined;
  return (
    <div className="run-progress">
      <progress aria-label={label} max={total} value={total ? Math.min(progress!.done, total) : undefined} />
      <span className="muted num">{total ? `${progress!.done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}` : ''}</span>
    </div>
  );
}

/** Tabs as links (each a route of its own, so a reload or a link lands on the same tab). */
export function TabLinks({ label, tabs, current }: { label: string; tabs: Array<{ href: string; text: string; id: string }>; current: string }) {
  return (
    <nav className="tabs" aria-label={label}>
      {tabs.map((t) => (
        <a key={t.id} href={t.href} aria-current={t.id === current ? 'page' : undefined}>
          {t.text}
        </a>
      ))}
    </nav>
  );
}

const readHash = () => window.location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);

/** The hash route's parts (#/ledger/tx/ltx_… → ['ledger', 'tx', 'ltx_…']), for screens with sub-routes. */
export function useHashParts(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const on = () => setParts(readHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

/** The month before the current one (UTC), as YYYY-MM: the last one that can be fully invoiced. */
export function previousMonth(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

/**
 * A price in minor units that may carry a fraction ("0.0002" cents) as major units of the
 * currency, by moving the decimal point in the string: "0.0002" USD cents → "0.000002 USD".
 */
export function formatMinorDecimal(minor: string, currency: string, exponent: number | undefined): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(minor);
  if (!m || exponent === undefined) return `${minor} ${currency} (minor units)`;
  const digits = (m[1] + (m[2] ?? '')).replace(/^0+(?=\d)/, '');
  const scale = (m[2] ?? '').length + exponent;
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, padded.length - scale).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = padded.slice(padded.length - scale).replace(/0+$/, '');
  const minFraction = fraction.padEnd(exponent, '0');
  return `${whole}${minFraction ? `.${minFraction}` : ''} ${currency}`;
}
