import { createColumnHelper } from '@tanstack/react-table';
import { type FormEvent, useState } from 'react';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { SUPPORTED_CURRENCIES } from '../../../core/money/currencies.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';

type Rate = CommandOutput<'fx:list'>['items'][number];
const col = createColumnHelper<Rate>();
const columns = [
  col.accessor('pair', { header: 'Pair' }),
  col.accessor('rate', { header: 'Rate', meta: { numeric: true } }),
  col.accessor('effectiveAt', { header: 'Effective', cell: (c) => formatInstant(c.getValue()) }),
  col.accessor('source', { header: 'Source' }),
  col.accessor('enteredBy', { header: 'Entered by', cell: (c) => c.getValue() ?? (c.row.original.importBatch ? `import ${c.row.original.importBatch}` : '—') }),
  col.accessor('createdAt', { header: 'Recorded', cell: (c) => formatInstant(c.getValue()) }),
];

export function FxScreen() {
  const { run, can } = useSession();
  const [pair, setPair] = useState('');
  const history = useCommand('fx:list', pair ? { pair } : {});
  const [draft, setDraft] = useState({ from: 'USD', to: 'CNY', rate: '', effective: '', source: '' });
  const [review, setReview] = useState<CommandInput<'fx:set'>>();
  const [done, setDone] = useState<string>();
  const pairs = [...new Set(history.data?.items.map((r) => r.pair) ?? [])].sort();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setReview({
      from: draft.from,
      to: draft.to,
      rate: draft.rate.trim(),
      ...(draft.effective ? { effective: `${draft.effective}:00Z` } : {}),
      ...(draft.source.trim() ? { source: draft.source.trim() } : {}),
    });
  };

  return (
    <section>
      <header className="screen-head">
        <h1>FX rates</h1>
        <label className="inline">
          Pair{' '}
          <select value={pair} onChange={(e) => setPair(e.target.value)}>
            <option value="">All pairs</option>
            {pairs.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      </header>
      {done && <Notice>{done}</Notice>}
      {can('fx:set') && (
        <form className="toolbar" onSubmit={submit} aria-label="Add a rate">
          <label className="field">
            <span>From</span>
            <select name="from" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })}>
              {SUPPORTED_CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>To</span>
            <select name="to" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })}>
              {SUPPORTED_CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Rate (units of To per 1 From)</span>
            <input name="rate" inputMode="decimal" placeholder="7.1234" value={draft.rate} onChange={(e) => setDraft({ ...draft, rate: e.target.value })} />
          </label>
          <label className="field">
            <span>Effective (UTC, empty = now)</span>
            <input name="effective" type="datetime-local" value={draft.effective} onChange={(e) => setDraft({ ...draft, effective: e.target.value })} />
          </label>
          <label className="field">
            <span>Source</span>
            <input name="source" placeholder="manual entry" value={draft.source} onChange={(e) => setDraft({ ...draft, source: e.target.value })} />
          </label>
          <button type="submit" className="primary" disabled={!/^\d+(\.\d+)?$/.test(draft.rate.trim()) || draft.from === draft.to}>
            Review rate…
          </button>
        </form>
      )}
      <ErrorNote error={history.error} />
      {history.data ? (
        <DataTable label="FX rate history" data={history.data.items} columns={columns} rowId={(r) => r.id} empty="No rates entered yet." />
      ) : (
        <Loading what="rates" />
      )}
      {review && (
        <ConfirmDialog
          title="Enter an FX rate"
          consequence={
            <p>
              This records{' '}
              <strong>
                1 {review.from} = {review.rate} {review.to}
              </strong>
              , effective {review.effective ? formatInstant(review.effective) : 'now'}, source “{review.source ?? 'manual entry'}”. Invoices generated after it takes effect use it;
              invoices already issued keep the rates they were snapshotted with. Rates are never edited: a later entry supersedes this one.
            </p>
          }
          confirmLabel="Enter rate"
          stepUp={BRIDGE_COMMANDS['fx:set'].stepUp}
          run={(otp) => run('fx:set', review, { otp })}
          onDone={(r) => {
            const rate = r.data as CommandOutput<'fx:set'>;
            setDone(`Entered ${rate.pair} ${rate.rate}, effective ${formatInstant(rate.effectiveAt)}.`);
            setReview(undefined);
            setDraft({ ...draft, rate: '', effective: '', source: '' });
            history.reload();
          }}
          onCancel={() => setReview(undefined)}
        />
      )}
    </section>
  );
}
