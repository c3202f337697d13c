import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { describeError, useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { SelectField, useSettled } from '../ui/fields';
import './admin.css';

type Entry = CommandOutput<'audit:list'>['items'][number];
type Verified = CommandOutput<'audit:verify'>;
type Filters = Pick<CommandInput<'audit:list'>, 'actor' | 'command' | 'touching' | 'outcome' | 'from' | 'to'>;

/**
 * A calendar day (yyyy-mm-dd from a date input) → its midnight in UTC, plus `days`. UTC, because
 * every time the back office shows is UTC (formatInstant): the days filtered are the days read.
 */
const utcMidnight = (day: string, days = 0) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString();
};

const PAGE = 100;
/** Same rule as audit:list's `touching` (an id: prefix, underscore, lowercase base-32). */
const ID = /^[a-z]+_[0-9a-z]+$/;
/**
 * What the log records: every mutating command, the reads of personal data (KYB), and the
 * sign-in events core writes outside the registry.
 */
const AUDITED = [
  ...Object.entries(BRIDGE_COMMANDS)
    .filter(([name, p]) => p.mutates || name === 'kyb:show' || name === 'kyb:export-document')
    .map(([name]) => name),
  'staff:login',
  'staff:enrol',
  'staff:bootstrap',
].sort();

/** Where an id in the log can be opened. */
function idLink(id: string): string | undefined {
  if (id.startsWith('mer_')) return `#/merchants/${encodeURIComponent(id)}`;
  if (id.startsWith('inv_')) return `#/invoices/${encodeURIComponent(id)}`;
  return undefined;
}

/** An id, opened where it can be; `short` keeps the table narrow (the full id on hover and in the entry). */
function Id({ id, short = false }: { id: string; short?: boolean }) {
  const href = idLink(id);
  const text = short && id.length > 20 ? `${id.slice(0, 12)}…${id.slice(-5)}` : id;
  return href ? (
    <a className="code" href={href} title={id} onClick={(e) => e.stopPropagation()}>
      {text}
    </a>
  ) : (
    <code className="code" title={id}>
      {text}
    </code>
  );
}

export function AuditScreen({ touching: initialTouching }: { touching?: string }) {
  const { run, can } = useSession();
  const { t } = useTranslation('audit');
  const [actor, setActor] = useState('');
  const [command, setCommand] = useState('');
  const [touching, setTouching] = useState(initialTouching ?? '');
  const [outcome, setOutcome] = useState<'ok' | 'error'>();
  // UTC days, as every time on screen is; `to` includes its whole day.
  const [fromDay, setFromDay] = useState('');
  const [toDay, setToDay] = useState('');
  const settledActor = useSettled(actor.trim());
  const settledTouching = useSettled(touching.trim());
  const touchingValid = settledTouching === '' || ID.test(settledTouching);
  const filters: Filters = {
    ...(settledActor ? { actor: settledActor } : {}),
    ...(command ? { command } : {}),
    ...(settledTouching && touchingValid ? { touching: settledTouching } : {}),
    ...(outcome ? { outcome } : {}),
    ...(fromDay ? { from: utcMidnight(fromDay) } : {}),
    ...(toDay ? { to: utcMidnight(toDay, 1) } : {}),
  };
  const filterKey = JSON.stringify(filters);
  const first = useCommand('audit:list', { ...filters, limit: PAGE });
  const [older, setOlder] = useState<{ key: string; items: Entry[]; exhausted: boolean }>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<BridgeError>();
  const [selected, setSelected] = useState<Entry>();
  const [verifying, setVerifying] = useState(false);
  const [verified, setVerified] = useState<{ ok: Verified } | { error: BridgeError }>();

  const olderItems = older?.key === filterKey ? older.items : [];
  const items = [...(first.data?.items ?? []), ...olderItems];
  const exhausted = older?.key === filterKey ? older.exhausted : (first.data?.items.length ?? 0) < PAGE;

  const loadOlder = async () => {
    const last = items.at(-1);
    if (!last) return;
    setLoadingMore(true);
    setMoreError(undefined);
    const r = await run('audit:list', { ...filters, limit: PAGE, beforeSeq: last.seq });
    setLoadingMore(false);
    if (!r.ok) return setMoreError(r.error);
    setOlder({ key: filterKey, items: [...olderItems, ...r.data.items], exhausted: r.data.items.length < PAGE });
  };

  const verify = async () => {
    setVerifying(true);
    setVerified(undefined);
    const r = await run('audit:verify', {});
    setVerifying(false);
    setVerified(r.ok ? { ok: r.data } : { error: r.error });
  };

  const col = createColumnHelper<Entry>();
  const columns = [
    col.accessor('seq', { header: t('columns.seq'), meta: { numeric: true } }),
    col.accessor('at', { header: t('columns.at'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor((e) => e.actor.email ?? '', { id: 'actor', header: t('columns.actor'), cell: (c) => c.getValue() || <span className="muted">{t('nobody')}</span> }),
    col.accessor('command', { header: t('columns.command'), cell: (c) => <code className="code strong-code nowrap">{c.getValue()}</code> }),
    col.accessor('outcome', {
      header: t('columns.outcome'),
      cell: (c) =>
        c.getValue() === 'ok' ? (
          <span className="pill ok">{t('outcomes.ok')}</span>
        ) : (
          <span className="pill error">
            {t('outcomes.error')}: {c.row.original.errorCode}
          </span>
        ),
    }),
    col.accessor((e) => e.touched.join(' '), {
      id: 'touched',
      header: t('columns.touched'),
      enableSorting: false,
      cell: (c) => (
        <span className="ids nowrap">
          {c.row.original.touched.map((id) => (
            <Id key={id} id={id} short />
          ))}
        </span>
      ),
    }),
  ];

  const broken =
    verified && 'error' in verified && verified.error.code === 'audit_chain_broken'
      ? (verified.error.details as { firstBroken?: { seq: number; id: string; reason: string }; verifiedEntries?: number })
      : undefined;

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
        {can('audit:verify') && (
          <button type="button" onClick={verify} disabled={verifying}>
            {verifying ? t('verify.running') : t('verify.button')}
          </button>
        )}
      </header>
      {verified && 'ok' in verified && <Notice>{t('verify.intact', { entries: String(verified.ok.entries), hash: `${verified.ok.headHash.slice(0, 16)}…` })}</Notice>}
      {broken?.firstBroken ? (
        <div className="note error" role="alert">
          {t('verify.broken', { seq: String(broken.firstBroken.seq), id: broken.firstBroken.id, reason: broken.firstBroken.reason, verified: String(broken.verifiedEntries ?? 0) })}{' '}
          <code className="code">audit_chain_broken</code>
        </div>
      ) : (
        verified && 'error' in verified && <ErrorNote error={verified.error} />
      )}
      <search className="toolbar" aria-label={t('filters')}>
        <label className="field">
          <span>{t('actor')}</span>
          <input name="actor" type="search" size={22} placeholder={t('actorPlaceholder')} value={actor} onChange={(e) => setActor(e.target.value)} />
        </label>
        <SelectField
          name="command"
          label={t('command')}
          any={t('anyCommand')}
          value={command}
          onChange={(v) => setCommand(v ?? '')}
          choices={AUDITED.map((name) => ({ value: name, label: name }))}
        />
        <label className="field">
          <span>{t('touching')}</span>
          <input
            name="touching"
            type="search"
            size={22}
            placeholder={t('touchingPlaceholder')}
            value={touching}
            aria-invalid={!touchingValid || undefined}
            onChange={(e) => setTouching(e.target.value)}
          />
          {!touchingValid && <span className="invalid">{t('touchingInvalid')}</span>}
        </label>
        <SelectField
          name="outcome"
          label={t('outcome')}
          any={t('anyOutcome')}
          value={outcome}
          onChange={(v) => setOutcome(v as 'ok' | 'error' | undefined)}
          choices={[
            { value: 'ok', label: t('outcomes.ok') },
            { value: 'error', label: t('outcomes.error') },
          ]}
        />
        <label className="field">
          <span>{t('from')}</span>
          <input name="from" type="date" value={fromDay} max={toDay || undefined} onChange={(e) => setFromDay(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('to')}</span>
          <input name="to" type="date" value={toDay} min={fromDay || undefined} onChange={(e) => setToDay(e.target.value)} />
        </label>
        {(actor || command || touching || outcome || fromDay || toDay) && (
          <button
            type="button"
            onClick={() => {
              setActor('');
              setCommand('');
              setTouching('');
              setOutcome(undefined);
              setFromDay('');
              setToDay('');
            }}
          >
            {t('clear')}
          </button>
        )}
      </search>
      <ErrorNote error={first.error} />
      {first.data ? (
        <div className={selected ? 'audit-layout with-entry' : 'audit-layout'}>
          <div>
            <DataTable
              label={t('table')}
              data={items}
              // With an entry open beside it, the table leaves its touched ids to the entry panel.
              columns={selected ? columns.filter((c) => c.id !== 'touched') : columns}
              rowId={(e) => e.id}
              onRowClick={setSelected}
              empty={t('empty')}
            />
            <ErrorNote error={moreError} />
            <div className="more">
              {!exhausted && (
                <button type="button" onClick={loadOlder} disabled={loadingMore}>
                  {loadingMore ? t('loadingMore') : t('more')}
                </button>
              )}
              <span className="fine-print">{items.length > 0 ? t('shown', { count: items.length }) : t('noDateFilter')}</span>
            </div>
          </div>
          {selected && <EntryPanel entry={selected} onClose={() => setSelected(undefined)} />}
        </div>
      ) : (
        !first.error && <Loading what={t('loading')} />
      )}
    </section>
  );
}

function EntryPanel({ entry, onClose }: { entry: Entry; onClose: () => void }) {
  const { t } = useTranslation('audit');
  const input = entry.input === null || entry.input === undefined || (typeof entry.input === 'object' && Object.keys(entry.input as object).length === 0) ? undefined : entry.input;
  return (
    <section className="panel entry-panel" aria-label={t('entry.label', { seq: String(entry.seq) })}>
      <div className="panel-head">
        <h2>{t('entry.title', { seq: String(entry.seq) })}</h2>
        <button type="button" onClick={onClose}>
          {t('entry.close')}
        </button>
      </div>
      <dl className="kv">
        <dt>{t('entry.at')}</dt>
        <dd>{formatInstant(entry.at)}</dd>
        <dt>{t('entry.actor')}</dt>
        <dd>
          {entry.actor.email ?? t('nobody')} {entry.actor.staffId && <code className="code">{entry.actor.staffId}</code>}
        </dd>
        <dt>{t('entry.command')}</dt>
        <dd>
          <code className="code strong-code">{entry.command}</code>
        </dd>
        <dt>{t('entry.outcome')}</dt>
        <dd>{entry.outcome === 'ok' ? <span className="pill ok">{t('outcomes.ok')}</span> : <span className="pill error">{t('outcomes.error')}</span>}</dd>
        {entry.errorCode && (
          <>
            <dt>{t('entry.errorCode')}</dt>
            <dd>
              {describeError({ code: entry.errorCode, message: entry.errorCode })} <code className="code">{entry.errorCode}</code>
            </dd>
          </>
        )}
        <dt>{t('entry.touched')}</dt>
        <dd className="ids">{entry.touched.length ? entry.touched.map((id) => <Id key={id} id={id} />) : '—'}</dd>
        <dt>{t('entry.id')}</dt>
        <dd>
          <code className="code">{entry.id}</code>
        </dd>
      </dl>
      <h3>{t('entry.input')}</h3>
      {input === undefined ? <p className="muted">{t('entry.noInput')}</p> : <pre data-testid="entry-input">{JSON.stringify(input, null, 2)}</pre>}
      <p className="fine-print">
        {t('entry.redactedNote')} {t('entry.resultNote')}
      </p>
      <h3>{t('entry.hash')}</h3>
      <div className="hash-text">{entry.hash}</div>
      <h3>{t('entry.prevHash')}</h3>
      <div className="hash-text">{entry.prevHash}</div>
    </section>
  );
}
