import { createColumnHelper } from '@tanstack/react-table';
import Papa from 'papaparse';
import { type FormEvent, useRef, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { SUPPORTED_CURRENCIES } from '../../../core/money/currencies.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { RunProgress } from './finance-parts';
import './finance.css';

type Rate = CommandOutput<'fx:list'>['items'][number];
type Imported = CommandOutput<'fx:import'>;

/** What the chosen file holds, read in the browser before anything is sent. */
interface CsvPreview {
  name: string;
  csv: string;
  header: string[];
  rows: Array<Record<string, string>>;
  count: number;
  pairs: string[];
  firstEffective: string | null;
  lastEffective: string | null;
}

const PREVIEW_ROWS = 5;

function previewCsv(name: string, text: string): CsvPreview {
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: 'greedy', transformHeader: (h) => h.trim() });
  const rows = parsed.data;
  const pairs = [...new Set(rows.map((r) => `${(r.from ?? '').trim()}/${(r.to ?? '').trim()}`).filter((p) => p !== '/'))].sort();
  const times = rows
    .map((r) => (r.effectiveAt ?? '').trim())
    .filter(Boolean)
    .sort();
  return {
    name,
    csv: text,
    header: parsed.meta.fields ?? [],
    rows: rows.slice(0, PREVIEW_ROWS),
    count: rows.length,
    pairs,
    firstEffective: times[0] ?? null,
    lastEffective: times.at(-1) ?? null,
  };
}

export function FxScreen() {
  const { t } = useTranslation('fx');
  const { run, can } = useSession();
  const [pair, setPair] = useState('');
  const history = useCommand('fx:list', pair ? { pair } : {});
  const [draft, setDraft] = useState({ from: 'USD', to: 'CNY', rate: '', effective: '', source: '' });
  const [review, setReview] = useState<CommandInput<'fx:set'>>();
  const [done, setDone] = useState<string>();
  const pairs = [...new Set(history.data?.items.map((r) => r.pair) ?? [])].sort();

  const col = createColumnHelper<Rate>();
  const columns = [
    col.accessor('pair', { header: t('columns.pair') }),
    col.accessor('rate', { header: t('columns.rate'), meta: { numeric: true } }),
    col.accessor('effectiveAt', { header: t('columns.effective'), cell: (c) => formatInstant(c.getValue()) }),
    col.accessor('source', { header: t('columns.source') }),
    col.accessor('enteredBy', {
      header: t('columns.enteredBy'),
      cell: (c) => c.getValue() ?? (c.row.original.importBatch ? t('columns.importBatch', { batch: c.row.original.importBatch }) : '—'),
    }),
    col.accessor('createdAt', { header: t('columns.recorded'), cell: (c) => formatInstant(c.getValue()) }),
  ];

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
        <h1>{t('title')}</h1>
        <label className="inline">
          {t('pairFilter')}{' '}
          <select value={pair} onChange={(e) => setPair(e.target.value)}>
            <option value="">{t('allPairs')}</option>
            {pairs.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      </header>
      {done && <Notice>{done}</Notice>}
      {can('fx:set') && (
        <form className="toolbar" onSubmit={submit} aria-label={t('add.label')}>
          <label className="field">
            <span>{t('add.from')}</span>
            <select name="from" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })}>
              {SUPPORTED_CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{t('add.to')}</span>
            <select name="to" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })}>
              {SUPPORTED_CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{t('add.rate')}</span>
            <input name="rate" inputMode="decimal" placeholder="7.1234" value={draft.rate} onChange={(e) => setDraft({ ...draft, rate: e.target.value })} />
          </label>
          <label className="field">
            <span>{t('add.effective')}</span>
            <input name="effective" type="datetime-local" value={draft.effective} onChange={(e) => setDraft({ ...draft, effective: e.target.value })} />
          </label>
          <label className="field">
            <span>{t('add.source')}</span>
            <input name="source" placeholder={t('add.sourcePlaceholder')} value={draft.source} onChange={(e) => setDraft({ ...draft, source: e.target.value })} />
          </label>
          <button type="submit" className="primary" disabled={!/^\d+(\.\d+)?$/.test(draft.rate.trim()) || draft.from === draft.to}>
            {t('add.review')}
          </button>
        </form>
      )}
      {can('fx:import') && (
        <FxImport
          onImported={(r) => {
            setDone(t('import.done', { n: r.imported.toLocaleString('en-US'), pairs: r.pairs.join(', '), batch: r.batch }));
            history.reload();
          }}
        />
      )}
      <ErrorNote error={history.error} />
      {history.data ? <DataTable label={t('table')} data={history.data.items} columns={columns} rowId={(r) => r.id} empty={t('empty')} /> : <Loading what={t('loading')} />}
      {review && (
        <ConfirmDialog
          title={t('add.title')}
          consequence={
            <p>
              <Trans
                t={t}
                i18nKey="add.consequence"
                values={
                  {
                    from: review.from,
                    rate: review.rate,
                    to: review.to,
                    effective: review.effective ? formatInstant(review.effective) : t('add.now'),
                    source: review.source ?? t('add.sourcePlaceholder'),
                  } as never
                }
                components={{ b: <strong /> }}
              />
            </p>
          }
          confirmLabel={t('add.confirm')}
          stepUp={BRIDGE_COMMANDS['fx:set'].stepUp}
          run={(otp) => run('fx:set', review, { otp })}
          onDone={(r) => {
            const rate = r.data as CommandOutput<'fx:set'>;
            setDone(t('add.done', { pair: rate.pair, rate: rate.rate, effective: formatInstant(rate.effectiveAt) }));
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

/** Import a CSV of rates: preview in the browser, then one all-or-nothing command with progress. */
function FxImport({ onImported }: { onImported: (r: Imported) => void }) {
  const { t } = useTranslation('fx');
  const { run } = useSession();
  const fileInput = useRef<HTMLInputElement>(null);
  const [preview, setPreview] = useState<CsvPreview>();
  const [source, setSource] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number }>();

  const choose = async (file: File | undefined) => {
    if (!file) return setPreview(undefined);
    setPreview(previewCsv(file.name, await file.text()));
  };
  const reset = () => {
    setPreview(undefined);
    setSource('');
    if (fileInput.current) fileInput.current.value = '';
  };

  return (
    <section className="panel" aria-label={t('import.label')}>
      <div className="panel-head">
        <strong>{t('import.title')}</strong>
        <span className="muted">{t('import.format')}</span>
      </div>
      <div className="import-row">
        <label className="field">
          <span>{t('import.file')}</span>
          <input ref={fileInput} name="csvFile" type="file" accept=".csv,text/csv" onChange={(e) => void choose(e.target.files?.[0])} />
        </label>
        <label className="field">
          <span>{t('import.source')}</span>
          <input name="importSource" placeholder={t('import.sourcePlaceholder')} value={source} onChange={(e) => setSource(e.target.value)} />
        </label>
        <button type="button" className="primary" disabled={!preview || preview.count === 0} onClick={() => setConfirming(true)}>
          {t('import.review')}
        </button>
      </div>
      {preview && (
        <div className="import-preview" data-testid="import-preview">
          <p className="muted">{t('import.summary', { n: preview.count.toLocaleString('en-US'), name: preview.name, pairs: preview.pairs.join(', ') || '—' })}</p>
          <div className="table-wrap">
            <table aria-label={t('import.previewTable')}>
              <thead>
                <tr>
                  <th className="num">{t('import.line')}</th>
                  {preview.header.map((h) => (
                    <th key={h}>{h}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.rows.map((r, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: preview rows have no identity but their position
                  <tr key={i}>
                    <td className="num muted">{i + 2}</td>
                    {preview.header.map((h) => (
                      <td key={h} className={h === 'rate' ? 'num' : undefined}>
                        {r[h]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {preview.count > PREVIEW_ROWS && <p className="muted">{t('import.more', { n: (preview.count - PREVIEW_ROWS).toLocaleString('en-US') })}</p>}
        </div>
      )}
      {confirming && preview && (
        <ConfirmDialog
          title={t('import.dialogTitle')}
          consequence={
            <p>
              <Trans
                t={t}
                i18nKey="import.consequence"
                values={
                  {
                    n: preview.count.toLocaleString('en-US'),
                    pairs: preview.pairs.join(', '),
                    from: preview.firstEffective ? formatInstant(preview.firstEffective) : t('import.uponImport'),
                    to: preview.lastEffective ? formatInstant(preview.lastEffective) : t('import.uponImport'),
                  } as never
                }
                components={{ b: <strong /> }}
              />
            </p>
          }
          confirmLabel={t('import.confirm', { n: preview.count.toLocaleString('en-US') })}
          stepUp={BRIDGE_COMMANDS['fx:import'].stepUp}
          run={async (otp) => {
            setRunning(true);
            setProgress(undefined);
            try {
              return await run(
                'fx:import',
                { csv: preview.csv, ...(source.trim() ? { source: source.trim() } : {}) },
                { otp, onProgress: (done, total) => setProgress({ done, total }) },
              );
            } finally {
              setRunning(false);
            }
          }}
          onDone={(r) => {
            setConfirming(false);
            reset();
            onImported(r.data as Imported);
          }}
          onCancel={() => setConfirming(false)}
        >
          {running && <RunProgress progress={progress} label={t('import.progress')} />}
        </ConfirmDialog>
      )}
    </section>
  );
}
