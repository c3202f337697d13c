import { createColumnHelper } from '@tanstack/react-table';
import { Fragment, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { SETTLEMENT_CURRENCIES } from '../../../core/money/currencies.js';
import { useCommand, useSession } from '../api';
import { formatInstant, formatMinor } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable, compareMinor } from '../ui/DataTable';
import { base64Bytes, downloadBytes, minorToDecimal } from '../ui/csv';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { type Environment, EnvironmentField, SelectField, useSettled } from '../ui/fields';
import { useAllPages } from '../ui/useAllPages';
import { TabLinks, previousMonth } from './finance-parts';
import './finance.css';
import './settlement.css';

/**
 * #/settlement: monthly settlement batches (core/settlement/README.md). The batches list; "Close a
 * batch" (#/settlement/close): a preview of what a close gathers and what it holds back and why,
 * then the close; a batch (#/settlement/stb_…): its control totals and content hash, the lines
 * with the invoices each covers, the held-back merchants, approvals (admins, step-up, bound to
 * the hash shown), rejection, the payout file's export and the lines' completion.
 */

type Summary = CommandOutput<'settlement:list'>['items'][number];
type Batch = CommandOutput<'settlement:show'>;
type Line = Batch['lines'][number];
type Preview = CommandOutput<'settlement:preview'>;
type PreviewLine = Preview['lines'][number];
type Held = Preview['held'][number];
type Status = Summary['status'];
type Format = CommandOutput<'settlement:export'>['format'];
type ListFilters = Omit<CommandInput<'settlement:list'>, 'cursor' | 'limit'>;

const STATUSES: readonly Status[] = ['closed', 'approved', 'rejected', 'completed'];
const PAGES = { firstPageSize: 100, pageSize: 500 };
/** Paid out on chain (core/settlement TOKEN_CONTRACTS): a token transfer file instead of the bank's. */
const TOKEN_CURRENCIES = new Set(['USDC', 'USDT']);
const FORMATS_FOR = (currency: string): Format[] => (TOKEN_CURRENCIES.has(currency) ? ['token-csv'] : ['bank-csv', 'bank-summary', 'pain001']);
const MIME: Record<Format, string> = {
  'bank-csv': 'text/csv;charset=utf-8',
  'bank-summary': 'text/csv;charset=utf-8',
  'token-csv': 'text/csv;charset=utf-8',
  pain001: 'application/xml',
};
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** A message carried across the hash change after a close (the batch's page shows it once). */
let flash: string | undefined;

export function SettlementScreen({ route }: { route: string[] }) {
  const { t } = useTranslation('settlement');
  if (route[0]?.startsWith('stb_')) return <BatchView key={route[0]} id={route[0]} />;
  const current = route[0] === 'close' ? 'close' : 'batches';
  return (
    <section className="settlement">
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <p className="muted lede">{t('explain')}</p>
      <TabLinks
        label={t('tabs.label')}
        current={current}
        tabs={[
          { id: 'batches', href: '#/settlement', text: t('tabs.batches') },
          { id: 'close', href: '#/settlement/close', text: t('tabs.close') },
        ]}
      />
      {current === 'batches' ? <Batches /> : <ClosePanel />}
    </section>
  );
}

function StatusPill({ status }: { status: Status }) {
  const { t } = useTranslation('settlement');
  return (
    <span className={`pill st-${status}`} data-testid="batch-status">
      {t(`statuses.${status}`)}
    </span>
  );
}

/** Staff ids as emails (closer, rejecter, who exported): admins may list staff; others know the approvers and themselves, and see other ids. */
function useStaffNames(known: ReadonlyArray<{ adminId: string; adminEmail: string }> = []): (id: string | null) => string {
  const { run, can, me } = useSession();
  const { t } = useTranslation('settlement');
  const [emails, setEmails] = useState<Map<string, string>>(new Map());
  const allowed = can('staff:list');
  useEffect(() => {
    if (!allowed) return;
    let live = true;
    run('staff:list', {}).then((r) => {
      if (live && r.ok) setEmails(new Map(r.data.items.map((s) => [s.id, s.email])));
    });
    return () => {
      live = false;
    };
  }, [run, allowed]);
  return (id) => {
    if (!id) return '—';
    if (id === me.id) return `${me.email} (${t('detail.you')})`;
    return emails.get(id) ?? known.find((k) => k.adminId === id)?.adminEmail ?? id;
  };
}

/** A masked destination: the holder, then bank · ••••1234 · code (or the chain and receiver). */
function Destination({ d }: { d: Record<string, string> }) {
  if (d.kind === 'token') {
    return (
      <span className="dest">
        <span>{d.chain}</span>
        <code className="id">{d.receiver}</code>
      </span>
    );
  }
  return (
    <span className="dest">
      <span>{d.holderName}</span>
      <span className="muted small">{[d.bankName, d.accountNumberMasked, d.bankCode].filter(Boolean).join(' · ')}</span>
    </span>
  );
}

const destinationText = (d: Record<string, string>) =>
  d.kind === 'token' ? `${d.chain} ${d.receiver}` : [d.holderName, d.bankName, d.accountNumberMasked, d.bankCode].filter(Boolean).join(' · ');

// ---------------------------------------------------------------- the batches list

function Batches() {
  const { t } = useTranslation('settlement');
  const [filters, setFilters] = useState<ListFilters>({});
  const [monthText, setMonthText] = useState('');
  const month = useSettled(monthText.trim());
  const query = useMemo(() => ({ ...filters, ...(MONTH.test(month) ? { month } : {}) }), [filters, month]);
  const list = useAllPages('settlement:list', query, PAGES);
  const set = (patch: Partial<ListFilters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as ListFilters);

  const columns = useMemo(() => {
    const col = createColumnHelper<Summary>();
    return [
      col.accessor('closedAt', { header: t('batches.columns.closed'), cell: (c) => formatInstant(c.getValue()) }),
      col.accessor('month', { header: t('batches.columns.month'), cell: (c) => <a href={`#/settlement/${c.row.original.id}`}>{c.getValue()}</a> }),
      col.accessor('currency', { header: t('batches.columns.currency') }),
      col.accessor('environment', { header: t('batches.columns.environment') }),
      col.accessor('status', { header: t('batches.columns.status'), cell: (c) => <StatusPill status={c.getValue()} /> }),
      col.accessor('lineCount', { header: t('batches.columns.lines'), meta: { numeric: true } }),
      col.accessor('heldCount', { header: t('batches.columns.held'), meta: { numeric: true } }),
      col.accessor('totalMinor', {
        header: t('batches.columns.total'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.totalMinor, r.currency) },
        sortingFn: (a, b) => compareMinor(a.original.totalMinor, b.original.totalMinor),
        cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
      }),
      col.accessor((b) => b.approvals.filter((a) => a.current).length, {
        id: 'approvals',
        header: t('batches.columns.approvals'),
        cell: (c) => (
          <span title={c.row.original.approvals.map((a) => `${a.adminEmail} ${formatInstant(a.approvedAt)}`).join('\n')}>
            {c.row.original.status === 'rejected' ? '—' : t('batches.approvalsOf', { n: String(c.getValue()) })}
          </span>
        ),
      }),
      col.accessor('id', {
        header: t('batches.columns.batch'),
        cell: (c) => (
          <code className="id clip" title={c.getValue()}>
            {c.getValue()}
          </code>
        ),
      }),
    ];
  }, [t]);

  return (
    <>
      <search className="toolbar" aria-label={t('filters.label')}>
        <SelectField
          name="status"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={filters.status}
          onChange={(v) => set({ status: v as Status | undefined })}
          choices={STATUSES.map((s) => ({ value: s, label: t(`statuses.${s}`) }))}
        />
        <label className="field">
          <span>{t('filters.month')}</span>
          <input name="month" placeholder="YYYY-MM" size={9} value={monthText} onChange={(e) => setMonthText(e.target.value)} />
        </label>
        <SelectField
          name="currency"
          label={t('filters.currency')}
          any={t('filters.anyCurrency')}
          value={filters.currency}
          onChange={(v) => set({ currency: v })}
          choices={SETTLEMENT_CURRENCIES.map((c) => ({ value: c, label: c }))}
        />
        <EnvironmentField
          name="environment"
          label={t('filters.environment')}
          any={t('filters.bothEnvironments')}
          value={filters.environment}
          onChange={(v) => set({ environment: v })}
        />
      </search>
      <ErrorNote error={list.error} />
      {list.data ? (
        <DataTable
          label={t('batches.table')}
          data={list.data.items}
          loadingMore={list.loading}
          columns={columns}
          rowId={(b) => b.id}
          onRowClick={(b) => {
            window.location.hash = `#/settlement/${b.id}`;
          }}
          empty={t('batches.empty')}
        />
      ) : (
        <Loading what={t('loading.batches')} />
      )}
    </>
  );
}

// ---------------------------------------------------------------- close: preview, then close

function usePreviewColumns() {
  const { t } = useTranslation('settlement');
  return useMemo(() => {
    const col = createColumnHelper<PreviewLine & { currency: string }>();
    const money = (key: 'grossMinor' | 'feesMinor' | 'refundsMinor' | 'netMinor', header: string, sign = '') =>
      col.accessor(key, {
        header,
        meta: { numeric: true, csv: (r) => minorToDecimal(r[key], r.currency) },
        sortingFn: (a, b) => compareMinor(a.original[key], b.original[key]),
        cell: (c) => (c.getValue() === '0' || !sign ? formatMinor(c.getValue(), c.row.original.currency) : `${sign}${formatMinor(c.getValue(), c.row.original.currency)}`),
      });
    return [
      col.accessor('merchantName', { header: t('columns.merchant'), cell: (c) => <span className="merchant">{c.getValue()}</span> }),
      col.accessor((l) => l.invoices.map((i) => i.invoiceNumber).join(' '), {
        id: 'invoices',
        header: t('columns.invoices'),
        enableSorting: false,
        cell: (c) => (
          <span className="invoice-list">
            {c.row.original.invoices.map((i) => (
              <a key={i.invoiceId} href={`#/invoices/${i.invoiceId}`} title={formatInstant(i.paidAt)}>
                {i.invoiceNumber}
              </a>
            ))}
          </span>
        ),
      }),
      money('grossMinor', t('columns.gross')),
      money('feesMinor', t('columns.fees'), '−'),
      money('refundsMinor', t('columns.refunds'), '−'),
      money('netMinor', t('columns.net')),
      col.accessor((l) => destinationText(l.destination), { id: 'destination', header: t('columns.destination'), cell: (c) => <Destination d={c.row.original.destination} /> }),
    ];
  }, [t]);
}

function useHeldColumns(currency: string) {
  const { t } = useTranslation('settlement');
  return useMemo(() => {
    const col = createColumnHelper<Held>();
    return [
      col.accessor('merchantName', { header: t('columns.merchant'), cell: (c) => <span className="merchant">{c.getValue()}</span> }),
      col.accessor((h) => t(`held.reasons.${h.reason}`), {
        id: 'reason',
        header: t('columns.reason'),
        cell: (c) => (
          <span className="held-reason">
            <span data-reason={c.row.original.reason}>{c.getValue()}</span>
            <span className="muted small">{c.row.original.detail}</span>
          </span>
        ),
      }),
      col.accessor('netMinor', {
        header: t('columns.heldNet'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.netMinor, currency) },
        sortingFn: (a, b) => compareMinor(a.original.netMinor, b.original.netMinor),
        cell: (c) => formatMinor(c.getValue(), currency),
      }),
      col.accessor((h) => h.invoiceIds.join(' '), {
        id: 'invoices',
        header: t('columns.invoices'),
        cell: (c) => <span title={c.getValue()}>{t('held.invoiceCount', { n: String(c.row.original.invoiceIds.length) })}</span>,
      }),
    ];
  }, [t, currency]);
}

function ClosePanel() {
  const { t } = useTranslation('settlement');
  const { run, can } = useSession();
  const [month, setMonth] = useState(previousMonth());
  const [currency, setCurrency] = useState('USD');
  const [environment, setEnvironment] = useState<Environment>('live');
  const [preview, setPreview] = useState<Preview>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BridgeError>();
  const [closing, setClosing] = useState(false);
  const lineColumns = usePreviewColumns();
  const heldColumns = useHeldColumns(preview?.currency ?? currency);
  const stale = preview !== undefined && (preview.month !== month.trim() || preview.currency !== currency || preview.environment !== environment);

  const look = async () => {
    setBusy(true);
    setError(undefined);
    const r = await run('settlement:preview', { month: month.trim(), currency, environment });
    setBusy(false);
    if (r.ok) setPreview(r.data);
    else {
      setPreview(undefined);
      setError(r.error);
    }
  };
  const total = preview ? formatMinor(preview.totalMinor, preview.currency) : '';
  const lines = useMemo(() => preview?.lines.map((l) => ({ ...l, currency: preview.currency })) ?? [], [preview]);

  return (
    <>
      <p className="muted lede">{t('preview.intro')}</p>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void look();
        }}
      >
        <label className="field">
          <span>{t('preview.month')}</span>
          <input name="closeMonth" value={month} size={9} placeholder="YYYY-MM" onChange={(e) => setMonth(e.target.value)} />
        </label>
        <SelectField
          name="closeCurrency"
          label={t('preview.currency')}
          value={currency}
          onChange={(v) => setCurrency(v ?? 'USD')}
          choices={SETTLEMENT_CURRENCIES.map((c) => ({ value: c, label: c }))}
        />
        <EnvironmentField name="closeEnvironment" label={t('preview.environment')} value={environment} onChange={(v) => setEnvironment(v ?? 'live')} />
        <button type="submit" className="primary" disabled={busy || !MONTH.test(month.trim())}>
          {busy ? t('preview.running') : t('preview.run')}
        </button>
      </form>
      <ErrorNote error={error} />
      {preview && (
        <div className="preview" data-testid="preview">
          <div className="panel-head preview-head">
            <p className="strong" data-testid="preview-summary">
              {t('preview.summary', { lines: String(preview.lineCount), total, held: String(preview.held.length) })}
            </p>
            {can('settlement:close') && (
              <button type="button" className="primary" disabled={stale || (preview.lines.length === 0 && preview.held.length === 0)} onClick={() => setClosing(true)}>
                {t('preview.close')}
              </button>
            )}
          </div>
          {stale && <p className="note error">{t('preview.stale')}</p>}
          <h2>{t('preview.gatheredTitle')}</h2>
          <DataTable label={t('preview.gatheredTable')} data={lines} columns={lineColumns} rowId={(l) => l.merchantId} empty={t('preview.gatheredEmpty')} filter={false} />
          <h2>{t('preview.heldTitle')}</h2>
          <p className="muted small">{t('preview.heldExplain')}</p>
          <DataTable label={t('held.table')} data={preview.held} columns={heldColumns} rowId={(h) => `${h.merchantId}:${h.reason}`} empty={t('held.empty')} filter={false} />
        </div>
      )}
      {closing && preview && (
        <ConfirmDialog
          title={t('close.title', { month: preview.month, currency: preview.currency })}
          consequence={
            <div className="stack">
              <p>{t('close.consequence', { lines: String(preview.lineCount), total, environment: preview.environment })}</p>
              {preview.held.length > 0 && (
                <>
                  <p>{t('close.heldNote', { held: String(preview.held.length) })}</p>
                  <ul className="consequence-list">
                    {preview.held.map((h) => (
                      <li key={`${h.merchantId}:${h.reason}`}>
                        {h.merchantName}: {t(`held.reasons.${h.reason}`)}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              <p className="muted">{t('close.approvalNote')}</p>
            </div>
          }
          confirmLabel={t('close.confirm')}
          stepUp={BRIDGE_COMMANDS['settlement:close'].stepUp}
          run={(otp) => run('settlement:close', { month: preview.month, currency: preview.currency, environment: preview.environment }, { otp })}
          onDone={(r) => {
            const b = r.data as Batch;
            flash = t('close.done', { id: b.id, lines: String(b.lineCount), total: formatMinor(b.totalMinor, b.currency) });
            setClosing(false);
            window.location.hash = `#/settlement/${b.id}`;
          }}
          onCancel={() => setClosing(false)}
        />
      )}
    </>
  );
}

// ---------------------------------------------------------------- one batch

type Dialog = { kind: 'approve' } | { kind: 'reject' } | { kind: 'export' } | { kind: 'complete'; line?: Line };

function BatchView({ id }: { id: string }) {
  const { t } = useTranslation('settlement');
  const { can, me } = useSession();
  const shown = useCommand('settlement:show', { batch: id });
  const b = shown.data;
  // The approvers' emails come with the batch: who produced the files is known to every role.
  const who = useStaffNames(
    b
      ? [
          ...b.approvals,
          ...(b.closedByEmail ? [{ adminId: b.closedBy, adminEmail: b.closedByEmail }] : []),
          ...(b.rejectedBy && b.rejectedByEmail ? [{ adminId: b.rejectedBy, adminEmail: b.rejectedByEmail }] : []),
        ]
      : undefined,
  );
  const [dialog, setDialog] = useState<Dialog>();
  const [done, setDone] = useState<string | undefined>(() => {
    const f = flash;
    flash = undefined;
    return f;
  });
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [copied, setCopied] = useState(false);
  const heldColumns = useHeldColumns(b?.currency ?? 'USD');

  if (!b) {
    return (
      <section className="settlement">
        <p className="crumbs">
          <a href="#/settlement">{t('back')}</a>
        </p>
        <ErrorNote error={shown.error} />
        {!shown.error && <Loading what={t('loading.batch')} />}
      </section>
    );
  }

  const money = (m: string) => formatMinor(m, b.currency);
  const current = b.approvals.filter((a) => a.current);
  const pending = b.lines.filter((l) => l.status === 'pending');
  const pendingTotal = pending.reduce((s, l) => s + BigInt(l.netMinor), 0n).toString();
  const finished = (message: string) => {
    setDialog(undefined);
    setDone(message);
    shown.reload();
  };
  const toggle = (lineId: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(lineId)) n.delete(lineId);
      else n.add(lineId);
      return n;
    });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(b.contentHash);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // no clipboard (permissions): the hash stays selectable
    }
  };

  return (
    <section className="settlement">
      <p className="crumbs">
        <a href="#/settlement">{t('back')}</a>
      </p>
      <header className="screen-head">
        <h1>
          {t('detail.heading', { month: b.month, currency: b.currency })} <StatusPill status={b.status} />
        </h1>
        <span className="row-actions">
          {b.status === 'closed' && can('settlement:approve') && (
            <button type="button" className="primary" onClick={() => setDialog({ kind: 'approve' })}>
              {t('approve.open')}
            </button>
          )}
          {b.status === 'closed' && can('settlement:reject') && (
            <button type="button" className="danger-text" onClick={() => setDialog({ kind: 'reject' })}>
              {t('reject.open')}
            </button>
          )}
          {(b.status === 'approved' || b.status === 'completed') && can('settlement:export') && (
            <button type="button" onClick={() => setDialog({ kind: 'export' })}>
              {t('export.open')}
            </button>
          )}
          {b.status === 'approved' && can('settlement:complete') && pending.length > 1 && (
            <button type="button" onClick={() => setDialog({ kind: 'complete' })}>
              {t('complete.all')}
            </button>
          )}
        </span>
      </header>
      {done && <Notice>{done}</Notice>}
      {b.status === 'closed' && !can('settlement:approve') && <p className="note info">{t('approve.adminsOnly')}</p>}
      {b.status === 'closed' && can('settlement:approve') && b.closedBy === me.id && <p className="note info">{t('approve.youClosed')}</p>}
      {b.status === 'closed' && current.some((a) => a.adminId === me.id) && <p className="note info">{t('approve.youApproved')}</p>}
      <div className="fact-columns">
        <dl className="facts" aria-label={t('detail.batchId')}>
          <dt>{t('detail.batchId')}</dt>
          <dd>
            <code className="id">{b.id}</code>
          </dd>
          <dt>{t('detail.environment')}</dt>
          <dd>{b.environment}</dd>
          <dt>{t('detail.closed')}</dt>
          <dd>{t('detail.closedBy', { at: formatInstant(b.closedAt), who: who(b.closedBy) })}</dd>
          {b.approvedAt && (
            <>
              <dt>{t('detail.approved')}</dt>
              <dd>{formatInstant(b.approvedAt)}</dd>
            </>
          )}
          {b.fxRate && (
            <>
              <dt>{t('detail.fxRate')}</dt>
              <dd className="num-left">
                CNY→{b.currency} {b.fxRate}
              </dd>
            </>
          )}
          {b.rejectedAt && (
            <>
              <dt>{t('detail.rejected')}</dt>
              <dd>{t('detail.rejectedBy', { at: formatInstant(b.rejectedAt), who: who(b.rejectedBy), reason: b.rejectReason ?? '' })}</dd>
            </>
          )}
          {b.completedAt && (
            <>
              <dt>{t('detail.completed')}</dt>
              <dd>{formatInstant(b.completedAt)}</dd>
            </>
          )}
        </dl>
        <dl className="facts money" aria-label={t('detail.total')}>
          <dt>{t('detail.lines')}</dt>
          <dd className="num">{b.lineCount}</dd>
          <dt>{t('detail.held')}</dt>
          <dd className="num">{b.heldCount}</dd>
          <dt className="strong">{t('detail.total')}</dt>
          <dd className="num strong" data-testid="control-total">
            {money(b.totalMinor)}
          </dd>
        </dl>
      </div>
      <div className="approval-panel">
        <div className="hash-row">
          <span className="muted">{t('detail.contentHash')}</span>
          <code className="hash" data-testid="content-hash">
            {b.contentHash}
          </code>
          <button type="button" className="small" onClick={() => void copy()}>
            {copied ? t('detail.copied') : t('detail.copy')}
          </button>
        </div>
        <div className="approvals" data-testid="approvals">
          <span className="muted">
            {t('detail.approvals')} · {t('batches.approvalsOf', { n: String(current.length) })}
          </span>
          {b.approvals.length === 0 ? (
            <span className="muted">{t('detail.noApprovals')}</span>
          ) : (
            <ul className="plain">
              {b.approvals.map((a) => (
                <li key={`${a.adminId}:${a.approvedAt}`} className={a.current ? undefined : 'muted'}>
                  ✓ {t('detail.approvalBy', { who: a.adminEmail, at: formatInstant(a.approvedAt) })}
                  {!a.current && ` (${t('detail.staleApproval')})`}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>

      <h2>{t('detail.linesTitle')}</h2>
      <div className="table-wrap">
        <table className="lines" aria-label={t('detail.linesTable')}>
          <thead>
            <tr>
              <th className="num">{t('columns.lineNo')}</th>
              <th>{t('columns.merchant')}</th>
              <th>{t('columns.destination')}</th>
              <th className="num">{t('columns.gross')}</th>
              <th className="num">{t('columns.fees')}</th>
              <th className="num">{t('columns.refunds')}</th>
              <th className="num">{t('columns.net')}</th>
              <th>{t('columns.status')}</th>
              <th>{t('columns.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {b.lines.length === 0 && (
              <tr>
                <td className="empty" colSpan={9}>
                  {t('detail.linesEmpty')}
                </td>
              </tr>
            )}
            {b.lines.map((l) => (
              <Fragment key={l.id}>
                <tr data-line-id={l.id}>
                  <td className="num">{l.lineNo}</td>
                  <td>
                    <span className="merchant">{l.merchantName}</span>
                    <code className="id ref" title={t('columns.reference')}>
                      {l.reference}
                    </code>
                  </td>
                  <td>
                    <Destination d={l.destination} />
                  </td>
                  <td className="num">{money(l.grossMinor)}</td>
                  <td className="num">{l.feesMinor === '0' ? money('0') : `−${money(l.feesMinor)}`}</td>
                  <td className="num">{l.refundsMinor === '0' ? money('0') : `−${money(l.refundsMinor)}`}</td>
                  <td className="num strong">{money(l.netMinor)}</td>
                  <td>
                    <span className={`pill line-${l.status}`}>{t(`lineStatuses.${l.status}`)}</span>
                    {l.completedAt && (
                      <div className="completion" data-testid="completion">
                        <code className="id">{l.completionReference}</code>
                        <span className="muted small">{formatInstant(l.completedAt)}</span>
                      </div>
                    )}
                  </td>
                  <td>
                    <span className="row-actions">
                      <button type="button" className="small" aria-expanded={open.has(l.id)} onClick={() => toggle(l.id)}>
                        {open.has(l.id) ? t('detail.hideInvoices') : t('detail.showInvoices', { n: String(l.invoices.length) })}
                      </button>
                      {b.status === 'approved' && l.status === 'pending' && can('settlement:complete') && (
                        <button type="button" className="small" onClick={() => setDialog({ kind: 'complete', line: l })}>
                          {t('complete.one')}
                        </button>
                      )}
                    </span>
                  </td>
                </tr>
                {open.has(l.id) && (
                  <tr className="sub">
                    <td />
                    <td colSpan={8}>
                      <table className="invoices" aria-label={t('detail.invoicesOf', { n: String(l.lineNo) })}>
                        <thead>
                          <tr>
                            <th>{t('columns.number')}</th>
                            <th className="num">{t('columns.gross')}</th>
                            <th className="num">{t('columns.fees')}</th>
                            <th className="num">{t('columns.refunds')}</th>
                            <th className="num">{t('columns.net')}</th>
                          </tr>
                        </thead>
                        <tbody>
                          {l.invoices.map((i) => (
                            <tr key={i.invoiceId}>
                              <td>
                                <a href={`#/invoices/${i.invoiceId}`}>{i.invoiceNumber}</a>
                                {i.released && <span className="muted"> ({t('detail.released')})</span>}
                              </td>
                              <td className="num">{money(i.grossMinor)}</td>
                              <td className="num">{i.feesMinor === '0' ? money('0') : `−${money(i.feesMinor)}`}</td>
                              <td className="num">{i.refundsMinor === '0' ? money('0') : `−${money(i.refundsMinor)}`}</td>
                              <td className="num">{money(i.netMinor)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={6} className="strong">
                {t('detail.totalRow')}
              </td>
              <td className="num strong">{money(b.totalMinor)}</td>
              <td colSpan={2} />
            </tr>
          </tfoot>
        </table>
      </div>

      {b.held.length > 0 && (
        <>
          <h2>{t('detail.heldTitle')}</h2>
          <DataTable label={t('held.table')} data={b.held} columns={heldColumns} rowId={(h) => `${h.merchantId}:${h.reason}`} empty={t('held.empty')} filter={false} />
        </>
      )}

      <h2>{t('detail.filesTitle')}</h2>
      {b.files.length === 0 ? (
        <p className="muted">{t('detail.filesEmpty')}</p>
      ) : (
        <div className="table-wrap">
          <table className="files" aria-label={t('detail.filesTable')}>
            <thead>
              <tr>
                <th>{t('detail.fileColumns.kind')}</th>
                <th>{t('detail.fileColumns.fileName')}</th>
                <th>{t('detail.fileColumns.sha256')}</th>
                <th className="num">{t('detail.fileColumns.size')}</th>
                <th>{t('detail.fileColumns.by')}</th>
                <th>{t('detail.fileColumns.at')}</th>
              </tr>
            </thead>
            <tbody>
              {b.files.map((f) => (
                <tr key={f.id}>
                  <td>{t(`detail.fileKinds.${f.kind}`)}</td>
                  <td className="file-name">
                    {f.fileName}
                    <span className="muted small"> · {f.format}</span>
                  </td>
                  <td>
                    <code className="hash small-hash">{f.sha256}</code>
                  </td>
                  <td className="num">{f.byteLength}</td>
                  <td>{f.createdBy ? who(f.createdBy) : '—'}</td>
                  <td className="nowrap">{formatInstant(f.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {dialog?.kind === 'approve' && <ApproveDialog batch={b} closer={who(b.closedBy)} onDone={finished} onCancel={() => setDialog(undefined)} />}
      {dialog?.kind === 'reject' && <RejectDialog batch={b} onDone={finished} onCancel={() => setDialog(undefined)} />}
      {dialog?.kind === 'export' && <ExportDialog batch={b} onDone={finished} onCancel={() => setDialog(undefined)} />}
      {dialog?.kind === 'complete' && (
        <CompleteDialog batch={b} line={dialog.line} pendingCount={pending.length} pendingTotal={pendingTotal} onDone={finished} onCancel={() => setDialog(undefined)} />
      )}
    </section>
  );
}

interface DialogProps {
  batch: Batch;
  onDone: (message: string) => void;
  onCancel: () => void;
}

/**
 * The approval: the rule, who approved already, and the exact content hash this approval is bound
 * to (sent with it: a batch whose content changed meanwhile is refused, approval_hash_mismatch).
 */
function ApproveDialog({ batch: b, closer, onDone, onCancel }: DialogProps & { closer: string }) {
  const { t } = useTranslation('settlement');
  const { run, me } = useSession();
  const current = b.approvals.filter((a) => a.current);
  return (
    <ConfirmDialog
      title={t('approve.title', { month: b.month, currency: b.currency })}
      consequence={
        <div className="stack">
          <p>{t('approve.rule')}</p>
          <p className="muted">{t('approve.totals', { lines: String(b.lineCount), total: formatMinor(b.totalMinor, b.currency), closer })}</p>
          <p className="hash-label">{t('approve.hashLabel')}</p>
          <code className="hash block" data-testid="approve-hash">
            {b.contentHash}
          </code>
          {current.length === 0 ? (
            <p>{t('approve.none')}</p>
          ) : (
            <>
              <p>{t('approve.already', { n: String(current.length) })}</p>
              <ul className="consequence-list" data-testid="approved-already">
                {current.map((a) => (
                  <li key={a.adminId}>{t('detail.approvalBy', { who: a.adminEmail, at: formatInstant(a.approvedAt) })}</li>
                ))}
              </ul>
            </>
          )}
          <p className="strong">
            {b.closedBy === me.id
              ? t('approve.youClosed')
              : current.some((a) => a.adminId === me.id)
                ? t('approve.youApproved')
                : current.length === 0
                  ? t('approve.first')
                  : t('approve.second')}
          </p>
        </div>
      }
      confirmLabel={t('approve.confirm')}
      stepUp={BRIDGE_COMMANDS['settlement:approve'].stepUp}
      run={(otp) => run('settlement:approve', { batch: b.id, hash: b.contentHash }, { otp })}
      onDone={(r) => onDone((r.data as CommandOutput<'settlement:approve'>).executed ? t('approve.doneExecuted') : t('approve.doneFirst'))}
      onCancel={onCancel}
    />
  );
}

function RejectDialog({ batch: b, onDone, onCancel }: DialogProps) {
  const { t } = useTranslation('settlement');
  const { run } = useSession();
  const [reason, setReason] = useState('');
  return (
    <ConfirmDialog
      title={t('reject.title', { month: b.month, currency: b.currency })}
      tone="danger"
      consequence={<p>{t('reject.consequence', { lines: String(b.lineCount), total: formatMinor(b.totalMinor, b.currency) })}</p>}
      confirmLabel={t('reject.confirm')}
      stepUp={BRIDGE_COMMANDS['settlement:reject'].stepUp}
      ready={reason.trim().length >= 3}
      run={(otp) => run('settlement:reject', { batch: b.id, reason: reason.trim() }, { otp })}
      onDone={() => onDone(t('reject.done'))}
      onCancel={onCancel}
    >
      <label className="field">
        <span>{t('reject.reason')}</span>
        <textarea name="reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}

/** The payout file, byte for byte, saved through a save dialog (Electron) or as a download (browser). */
function ExportDialog({ batch: b, onDone, onCancel }: DialogProps) {
  const { t } = useTranslation('settlement');
  const { run } = useSession();
  const formats = FORMATS_FOR(b.currency);
  const [format, setFormat] = useState<Format>(formats[0]);
  return (
    <ConfirmDialog
      title={t('export.title')}
      consequence={<p>{t('export.consequence')}</p>}
      confirmLabel={t('export.confirm')}
      stepUp={BRIDGE_COMMANDS['settlement:export'].stepUp}
      run={(otp) => run('settlement:export', { batch: b.id, format }, { otp })}
      onDone={(r) => {
        const file = r.data as CommandOutput<'settlement:export'>;
        downloadBytes(file.fileName, base64Bytes(file.contentBase64), MIME[file.format]);
        onDone(t('export.done', { fileName: file.fileName, bytes: String(file.byteLength), sha256: file.sha256 }));
      }}
      onCancel={onCancel}
    >
      <SelectField
        name="format"
        label={t('export.format')}
        value={format}
        onChange={(v) => setFormat((v as Format) ?? formats[0])}
        choices={formats.map((f) => ({ value: f, label: t(`export.formats.${f}`) }))}
      />
    </ConfirmDialog>
  );
}

function CompleteDialog({ batch: b, line, pendingCount, pendingTotal, onDone, onCancel }: DialogProps & { line?: Line; pendingCount: number; pendingTotal: string }) {
  const { t } = useTranslation('settlement');
  const { run } = useSession();
  const [reference, setReference] = useState('');
  return (
    <ConfirmDialog
      title={line ? t('complete.titleOne', { n: String(line.lineNo), merchant: line.merchantName }) : t('complete.titleAll')}
      consequence={
        <p>
          {line
            ? t('complete.consequenceOne', { amount: formatMinor(line.netMinor, b.currency), destination: destinationText(line.destination), reference: line.reference })
            : t('complete.consequenceAll', { n: String(pendingCount), amount: formatMinor(pendingTotal, b.currency) })}
        </p>
      }
      confirmLabel={t('complete.confirm')}
      stepUp={BRIDGE_COMMANDS['settlement:complete'].stepUp}
      ready={reference.trim().length > 0}
      run={(otp) => run('settlement:complete', { batch: b.id, ...(line ? { line: line.id } : {}), reference: reference.trim() }, { otp })}
      onDone={() => onDone(t('complete.done', { reference: reference.trim() }))}
      onCancel={onCancel}
    >
      <label className="field">
        <span>{t('complete.reference')}</span>
        <input name="reference" autoComplete="off" maxLength={140} value={reference} onChange={(e) => setReference(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}
