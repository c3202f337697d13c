import { createColumnHelper } from '@tanstack/react-table';
import { useCallback, useMemo, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { CURRENCY_EXPONENTS } from '../../../core/money/currencies.js';
import { useCommand, useSession } from '../api';
import { formatBps, formatInstant, formatMinor, formatPeriod, formatQuantity } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable, compareMinor } from '../ui/DataTable';
import { minorToDecimal } from '../ui/csv';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { EnvironmentField, SelectField } from '../ui/fields';
import { useAllPages } from '../ui/useAllPages';
import { RunProgress, TabLinks, formatMinorDecimal, previousMonth } from './finance-parts';
import { RefundDialog } from './Payments';
import './finance.css';

type Summary = CommandOutput<'invoices:list'>['items'][number];
type Report = CommandOutput<'invoices:generate'>;
type Invoice = CommandOutput<'invoices:show'>;
type Unbilled = CommandOutput<'invoices:unbilled'>['items'][number];
type Posting = CommandOutput<'ledger:transactions'>['items'][number];
type Filters = Pick<CommandInput<'invoices:list'>, 'status' | 'environment' | 'period' | 'merchant'>;
type Tab = 'issued' | 'unbilled';
const INVOICE_STATUSES = ['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded'] as const;
const VOIDABLE = new Set(['finalized', 'payment_pending']);
/** The sub-route of the unbilled-usage tab: #/invoices/unbilled (invoice ids are inv_…). */
const UNBILLED = 'unbilled';

function useStatusLabel() {
  const { t } = useTranslation('invoices');
  return useCallback((s: string) => ((INVOICE_STATUSES as readonly string[]).includes(s) ? t(`statuses.${s as (typeof INVOICE_STATUSES)[number]}`) : s), [t]);
}

function Tabs({ current }: { current: Tab }) {
  const { t } = useTranslation('invoices');
  return (
    <TabLinks
      label={t('tabs.label')}
      current={current}
      tabs={[
        { id: 'issued', href: '#/invoices', text: t('tabs.issued') },
        { id: 'unbilled', href: `#/invoices/${UNBILLED}`, text: t('tabs.unbilled') },
      ]}
    />
  );
}

/** Merchants to choose from (filters, the unbilled tab, a run for one merchant). */
function useMerchants() {
  const list = useCommand('merchants:list', { limit: 500 });
  return list.data?.items ?? [];
}

export function InvoicesScreen() {
  const { t } = useTranslation('invoices');
  const { run, can } = useSession();
  const statusLabel = useStatusLabel();
  const [filters, setFilters] = useState<Filters>({});
  // Every page of the list (100,000 rows scroll, sort, filter and export; the first page shows at once).
  const list = useAllPages('invoices:list', filters);
  const merchants = useMerchants();
  const [generating, setGenerating] = useState(false);
  const [asOf, setAsOf] = useState('');
  const [runMerchant, setRunMerchant] = useState('');
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<Report>();
  const set = (patch: Partial<Filters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as Filters);

  // Stable between renders: a new columns array would make the 100,000-row table rebuild its filter index.
  const columns = useMemo(() => {
    const col = createColumnHelper<Summary>();
    return [
      col.accessor('invoiceNumber', { header: t('columns.number') }),
      col.accessor('customerExternalId', { header: t('columns.customer') }),
      col.accessor('periodStart', { header: t('columns.period'), cell: (c) => formatPeriod(c.row.original.periodStart, c.row.original.periodEnd) }),
      col.accessor('environment', { header: t('columns.environment') }),
      col.accessor('status', { header: t('columns.status'), cell: (c) => <span className={`pill ${c.getValue()}`}>{statusLabel(c.getValue())}</span> }),
      col.accessor('subtotalMinor', {
        header: t('columns.subtotal'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.subtotalMinor, r.pricingCurrency) },
        sortingFn: (a, b) => compareMinor(a.original.subtotalMinor, b.original.subtotalMinor),
        cell: (c) => formatMinor(c.getValue(), c.row.original.pricingCurrency),
      }),
      col.accessor('collectionAmountMinor', {
        header: t('columns.collect'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.collectionAmountMinor, 'CNY') },
        sortingFn: (a, b) => compareMinor(a.original.collectionAmountMinor, b.original.collectionAmountMinor),
        cell: (c) => formatMinor(c.getValue(), 'CNY'),
      }),
      col.accessor('netSettlementMinor', {
        header: t('columns.net'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.netSettlementMinor, r.settlementCurrency) },
        sortingFn: (a, b) => compareMinor(a.original.netSettlementMinor, b.original.netSettlementMinor),
        cell: (c) => formatMinor(c.getValue(), c.row.original.settlementCurrency),
      }),
      // The CSV carries each amount as an exact decimal and its currency beside it (currencies differ row to row).
      col.accessor('pricingCurrency', { header: t('columns.pricingCurrency'), meta: { exportOnly: true } }),
      col.accessor('settlementCurrency', { header: t('columns.settlementCurrency'), meta: { exportOnly: true } }),
    ];
  }, [t, statusLabel]);

  const merchantName = (id: string) => merchants.find((m) => m.id === id)?.name ?? id;
  const merchantChoices = merchants.map((m) => ({ value: m.id, label: m.name }));

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
        {can('invoices:generate') && (
          <button type="button" className="primary" onClick={() => setGenerating(true)}>
            {t('generate.open')}
          </button>
        )}
      </header>
      <Tabs current="issued" />
      <search className="toolbar" aria-label={t('filters.label')}>
        <SelectField
          name="status"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={filters.status}
          onChange={(v) => set({ status: v as Filters['status'] })}
          choices={INVOICE_STATUSES.map((s) => ({ value: s, label: statusLabel(s) }))}
        />
        <EnvironmentField
          name="environment"
          label={t('filters.environment')}
          any={t('filters.bothEnvironments')}
          value={filters.environment}
          onChange={(v) => set({ environment: v })}
        />
        <label className="field">
          <span>{t('filters.period')}</span>
          <input name="period" type="month" value={filters.period ?? ''} onChange={(e) => set({ period: e.target.value || undefined })} />
        </label>
        <SelectField
          name="merchant"
          label={t('filters.merchant')}
          any={t('filters.anyMerchant')}
          value={filters.merchant}
          onChange={(v) => set({ merchant: v })}
          choices={merchantChoices}
        />
      </search>
      {report && <RunReport report={report} onClose={() => setReport(undefined)} />}
      <ErrorNote error={list.error} />
      {list.data ? (
        <DataTable
          label={t('table')}
          data={list.data.items}
          loadingMore={list.loading}
          columns={columns}
          rowId={(r) => r.id}
          onRowClick={(r) => {
            window.location.hash = `#/invoices/${encodeURIComponent(r.id)}`;
          }}
          empty={t('empty')}
        />
      ) : (
        <Loading what={t('loading.list')} />
      )}
      {generating && (
        <ConfirmDialog
          title={t('generate.title')}
          consequence={
            <p>
              <Trans
                t={t}
                i18nKey={runMerchant ? 'generate.consequenceMerchant' : 'generate.consequence'}
                values={{ asOf: asOf ? formatInstant(`${asOf}:00Z`) : t('generate.now'), merchant: merchantName(runMerchant) } as never}
                components={{ b: <strong /> }}
              />
            </p>
          }
          confirmLabel={t('generate.confirm')}
          stepUp={BRIDGE_COMMANDS['invoices:generate'].stepUp}
          run={async (otp) => {
            setRunning(true);
            setProgress(undefined);
            try {
              return await run(
                'invoices:generate',
                { ...(asOf ? { asOf: `${asOf}:00Z` } : {}), ...(runMerchant ? { merchant: runMerchant } : {}) },
                { otp, onProgress: (done, total) => setProgress({ done, total }) },
              );
            } finally {
              setRunning(false);
            }
          }}
          onDone={(r) => {
            setReport(r.data as Report);
            setGenerating(false);
            list.reload();
          }}
          onCancel={() => setGenerating(false)}
        >
          <label className="field">
            <span>{t('generate.asOf')}</span>
            <input name="asOf" type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} disabled={running} />
          </label>
          <SelectField
            name="runMerchant"
            label={t('generate.merchant')}
            any={t('generate.allMerchants')}
            value={runMerchant}
            onChange={(v) => setRunMerchant(v ?? '')}
            choices={merchantChoices}
            disabled={running}
          />
          {running && <RunProgress progress={progress} label={t('generate.progress')} />}
        </ConfirmDialog>
      )}
    </section>
  );
}

function RunReport({ report, onClose }: { report: Report; onClose: () => void }) {
  const { t } = useTranslation('invoices');
  return (
    <div className="panel" data-testid="run-report">
      <div className="panel-head">
        <strong>
          {t('report.summary', {
            asOf: formatInstant(report.asOf),
            created: String(report.created.length),
            skipped: String(report.skipped.length),
            failed: String(report.failed.length),
          })}
        </strong>
        <button type="button" onClick={onClose}>
          {t('report.close')}
        </button>
      </div>
      {report.created.length > 0 && (
        <ul className="plain">
          {report.created.map((c) => (
            <li key={c.invoiceId}>
              <a href={`#/invoices/${c.invoiceId}`}>{c.invoiceNumber}</a> · {formatPeriod(c.periodStart, c.periodEnd)} ·{' '}
              <span className="num">{formatMinor(c.subtotalMinor, c.pricingCurrency)}</span>
            </li>
          ))}
        </ul>
      )}
      {report.failed.length > 0 && (
        <ul className="plain error">
          {report.failed.map((f) => (
            <li key={`${f.contractId}:${f.periodStart}`}>
              {t('report.failedItem', { contract: f.contractId, period: formatPeriod(f.periodStart, f.periodEnd), message: f.message })} <code className="code">{f.error}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** #/invoices/<id>: one invoice; #/invoices/unbilled: the unbilled-usage tab. */
export function InvoiceDetail({ id }: { id: string }) {
  return id === UNBILLED ? <UnbilledUsage /> : <InvoiceView id={id} />;
}

function describePrice(price: Record<string, unknown>, currency: string): string {
  const exp = CURRENCY_EXPONENTS[currency];
  const s = (k: string) => (typeof price[k] === 'string' ? (price[k] as string) : undefined);
  switch (price.model) {
    case 'per_unit':
      return s('unitPriceMinor') ? formatMinorDecimal(s('unitPriceMinor')!, currency, exp) : '—';
    case 'package':
      return s('packagePriceMinor') && s('packageSize') ? `${formatMinor(s('packagePriceMinor')!, currency)} / ${formatQuantity(s('packageSize')!)}` : '—';
    default: {
      const tiers = Array.isArray(price.tiers) ? (price.tiers as Array<{ upTo: string | null; unitPriceMinor: string }>) : [];
      return tiers.map((tier) => `${tier.upTo ? `≤${formatQuantity(tier.upTo)}` : '∞'}: ${formatMinorDecimal(tier.unitPriceMinor, currency, exp)}`).join(' · ') || '—';
    }
  }
}

type Line = Invoice['lines'][number];
type Fx = Invoice['fxSnapshot'][number];

function InvoiceView({ id }: { id: string }) {
  const { t } = useTranslation('invoices');
  const { run, can } = useSession();
  const statusLabel = useStatusLabel();
  const shown = useCommand('invoices:show', { invoice: id });
  const inv = shown.data;
  const [voiding, setVoiding] = useState(false);
  const [refunding, setRefunding] = useState(false);
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string>();

  const lineCol = createColumnHelper<Line>();
  const fxCol = createColumnHelper<Fx>();
  const currency = inv?.pricingCurrency ?? '';
  const lineColumns = [
    lineCol.accessor('lineNo', { header: '#', meta: { numeric: true } }),
    lineCol.accessor('metric', { header: t('lines.metric') }),
    lineCol.accessor('dimensions', {
      header: t('lines.dimensions'),
      enableSorting: false,
      cell: (c) =>
        Object.entries(c.getValue())
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || t('lines.fallback'),
    }),
    lineCol.accessor('pricingModel', { header: t('lines.model'), cell: (c) => c.getValue().replace('_', ' ') }),
    lineCol.accessor('quantity', {
      header: t('lines.quantity'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.quantity, b.original.quantity),
      cell: (c) => formatQuantity(c.getValue()),
    }),
    lineCol.accessor('price', { header: t('lines.unitPrice'), enableSorting: false, meta: { numeric: true }, cell: (c) => describePrice(c.getValue(), currency) }),
    lineCol.accessor('amountMinor', {
      header: t('lines.amount'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.amountMinor, b.original.amountMinor),
      cell: (c) => <span title={t('lines.exact', { exact: c.row.original.amountExact })}>{formatMinor(c.getValue(), currency)}</span>,
    }),
  ];
  const fxColumns = [
    fxCol.accessor('use', { header: t('fx.use'), cell: (c) => t(`fx.uses.${c.getValue()}`) }),
    fxCol.accessor('pair', { header: t('fx.pair') }),
    fxCol.accessor('rate', { header: t('fx.rate'), meta: { numeric: true } }),
    fxCol.accessor('effectiveAt', { header: t('fx.effective'), cell: (c) => formatInstant(c.getValue()) }),
    fxCol.accessor('source', { header: t('fx.source') }),
    fxCol.accessor('id', { header: t('fx.record') }),
  ];
  const gross = inv ? (BigInt(inv.netSettlementMinor) + BigInt(inv.platformFeeMinor)).toString() : '0';

  return (
    <section>
      <p className="crumbs">
        <a href="#/invoices">{t('back')}</a>
      </p>
      <ErrorNote error={shown.error} />
      {!inv && !shown.error && <Loading what={t('loading.one')} />}
      {inv && (
        <>
          <header className="screen-head">
            <h1>
              {t('detail.heading', { number: inv.invoiceNumber })} <span className={`pill ${inv.status}`}>{statusLabel(inv.status)}</span>
            </h1>
            {can('invoices:void') && VOIDABLE.has(inv.status) && (
              <button type="button" className="danger-text" onClick={() => setVoiding(true)}>
                {t('void.open')}
              </button>
            )}
            {can('refunds:create') && inv.status === 'paid' && (
              <button type="button" onClick={() => setRefunding(true)}>
                {t('refund.open')}
              </button>
            )}
          </header>
          {done && <Notice>{done}</Notice>}
          <div className="fact-columns">
            <dl className="facts">
              <dt>{t('detail.customer')}</dt>
              <dd>{inv.customerExternalId}</dd>
              <dt>{t('detail.merchant')}</dt>
              <dd>
                <code className="id">{inv.merchantId}</code>
              </dd>
              <dt>{t('detail.period')}</dt>
              <dd>{formatPeriod(inv.periodStart, inv.periodEnd)}</dd>
              <dt>{t('detail.environment')}</dt>
              <dd>{inv.environment}</dd>
              <dt>{t('detail.finalized')}</dt>
              <dd>{formatInstant(inv.finalizedAt)}</dd>
              <dt>{t('detail.rateCard')}</dt>
              <dd>
                <code className="id">{inv.rateCardId}</code> v{inv.rateCardVersion}
              </dd>
              <dt>{t('detail.contract')}</dt>
              <dd>
                <code className="id">{inv.contractId}</code>
              </dd>
              {inv.voidedAt && (
                <>
                  <dt>{t('detail.voided')}</dt>
                  <dd>{t('detail.voidedWhy', { at: formatInstant(inv.voidedAt), reason: inv.voidReason ?? '' })}</dd>
                </>
              )}
            </dl>
            <dl className="facts money">
              <dt>{t('detail.subtotal')}</dt>
              <dd className="num">{formatMinor(inv.subtotalMinor, inv.pricingCurrency)}</dd>
              <dt>{t('detail.collect')}</dt>
              <dd className="num">{formatMinor(inv.collectionAmountMinor, inv.collectionCurrency)}</dd>
              <dt>{t('detail.gross', { currency: inv.settlementCurrency })}</dt>
              <dd className="num">{formatMinor(gross, inv.settlementCurrency)}</dd>
              <dt>{t('detail.fee', { bps: formatBps(inv.serviceFeeBps) })}</dt>
              <dd className="num">−{formatMinor(inv.platformFeeMinor, inv.settlementCurrency)}</dd>
              <dt className="strong">{t('detail.net')}</dt>
              <dd className="num strong">{formatMinor(inv.netSettlementMinor, inv.settlementCurrency)}</dd>
            </dl>
          </div>
          <h2>{t('lines.title')}</h2>
          <DataTable label={t('lines.table')} data={inv.lines} columns={lineColumns} rowId={(l) => String(l.lineNo)} empty={t('lines.empty')} />
          <h2>{t('fx.title')}</h2>
          <DataTable label={t('fx.table')} data={inv.fxSnapshot} columns={fxColumns} rowId={(f) => `${f.use}:${f.id}`} empty={t('fx.empty')} />
          {can('ledger:transactions') && <InvoicePostings key={inv.status} invoiceId={inv.id} />}
          {refunding && (
            <RefundDialog
              invoiceId={inv.id}
              onDone={(message) => {
                setDone(message);
                setRefunding(false);
                shown.reload();
              }}
              onCancel={() => setRefunding(false)}
            />
          )}
          {voiding && (
            <ConfirmDialog
              title={t('void.title', { number: inv.invoiceNumber })}
              tone="danger"
              consequence={
                <>
                  <p>
                    <Trans
                      t={t}
                      i18nKey="void.consequence"
                      values={{ number: inv.invoiceNumber, customer: inv.customerExternalId, amount: formatMinor(inv.collectionAmountMinor, inv.collectionCurrency) } as never}
                      components={{ b: <strong /> }}
                    />
                  </p>
                  <ul className="consequence-list">
                    <li>{t('void.effects.status')}</li>
                    <li>{t('void.effects.ledger')}</li>
                    <li>{t('void.effects.event')}</li>
                    <li>{t('void.effects.period')}</li>
                  </ul>
                </>
              }
              confirmLabel={t('void.confirm')}
              stepUp={BRIDGE_COMMANDS['invoices:void'].stepUp}
              ready={reason.trim().length >= 3}
              run={(otp) => run('invoices:void', { invoice: inv.id, reason: reason.trim() }, { otp })}
              onDone={() => {
                setDone(t('void.done', { number: inv.invoiceNumber }));
                setVoiding(false);
                setReason('');
                shown.reload();
              }}
              onCancel={() => setVoiding(false)}
            >
              <label className="field">
                <span>{t('void.reason')}</span>
                <textarea name="reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
              </label>
            </ConfirmDialog>
          )}
        </>
      )}
    </section>
  );
}

/** The invoice's ledger transactions: its finalization posting and, once voided, the reversal. */
function InvoicePostings({ invoiceId }: { invoiceId: string }) {
  const { t } = useTranslation('invoices');
  const postings = useCommand('ledger:transactions', { cause: invoiceId });
  const col = createColumnHelper<Posting>();
  const columns = [
    col.accessor('postedAt', { header: t('postings.posted'), cell: (c) => formatInstant(c.getValue()) }),
    col.accessor('kind', { header: t('postings.kind') }),
    col.accessor('id', { header: t('postings.transaction'), cell: (c) => <a href={`#/ledger/tx/${c.getValue()}`}>{c.getValue()}</a> }),
    col.accessor('entries', { header: t('postings.entries'), meta: { numeric: true } }),
    col.accessor('totals', {
      header: t('postings.amount'),
      enableSorting: false,
      meta: { numeric: true },
      cell: (c) => c.getValue().map((x) => <div key={x.currency}>{formatMinor(x.debitsMinor, x.currency)}</div>),
    }),
  ];
  return (
    <>
      <h2>{t('postings.title')}</h2>
      <ErrorNote error={postings.error} />
      {postings.data ? (
        <DataTable label={t('postings.table')} data={postings.data.items} columns={columns} rowId={(p) => p.id} empty={t('postings.empty')} />
      ) : (
        <Loading what={t('loading.postings')} />
      )}
    </>
  );
}

/** Usage that no invoice will carry (no contract prices it, or no price matches), per merchant and month. */
function UnbilledUsage() {
  const { t } = useTranslation('invoices');
  const merchants = useMerchants();
  const [merchant, setMerchant] = useState('');
  const [period, setPeriod] = useState(previousMonth());
  const [environment, setEnvironment] = useState<'live' | 'sandbox'>('live');
  const chosen = merchant || merchants[0]?.id || '';
  const col = createColumnHelper<Unbilled>();
  const columns = [
    col.accessor('customerExternalId', { header: t('unbilled.columns.customer') }),
    col.accessor('metric', { header: t('unbilled.columns.metric') }),
    col.accessor('dimensions', {
      header: t('unbilled.columns.dimensions'),
      enableSorting: false,
      cell: (c) =>
        Object.entries(c.getValue())
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || '—',
    }),
    col.accessor('quantity', {
      header: t('unbilled.columns.quantity'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.quantity, b.original.quantity),
      cell: (c) => formatQuantity(c.getValue()),
    }),
    col.accessor('reason', { header: t('unbilled.columns.reason'), cell: (c) => <span className="pill pending_review">{t(`unbilled.reasons.${c.getValue()}`)}</span> }),
    col.accessor('from', { header: t('unbilled.columns.window'), cell: (c) => formatPeriod(c.row.original.from, c.row.original.to) }),
  ];
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <Tabs current="unbilled" />
      <p className="muted lede">{t('unbilled.explain')}</p>
      <search className="toolbar" aria-label={t('unbilled.filters')}>
        <SelectField
          name="unbilledMerchant"
          label={t('filters.merchant')}
          value={chosen}
          onChange={(v) => v && setMerchant(v)}
          choices={merchants.map((m) => ({ value: m.id, label: m.name }))}
        />
        <label className="field">
          <span>{t('unbilled.month')}</span>
          <input name="unbilledPeriod" type="month" value={period} onChange={(e) => e.target.value && setPeriod(e.target.value)} />
        </label>
        <EnvironmentField name="unbilledEnvironment" label={t('filters.environment')} value={environment} onChange={(v) => v && setEnvironment(v)} />
      </search>
      {chosen ? <UnbilledTable merchant={chosen} period={period} environment={environment} columns={columns} /> : <p className="muted">{t('unbilled.noMerchants')}</p>}
    </section>
  );
}

function UnbilledTable({
  merchant,
  period,
  environment,
  columns,
}: {
  merchant: string;
  period: string;
  environment: 'live' | 'sandbox';
  // biome-ignore lint/suspicious/noExplicitAny: TanStack column value types differ per column
  columns: any[];
}) {
  const { t } = useTranslation('invoices');
  const unbilled = useCommand('invoices:unbilled', { merchant, period, environment });
  return (
    <>
      <ErrorNote error={unbilled.error} />
      {unbilled.data ? (
        <DataTable
          label={t('unbilled.table')}
          data={unbilled.data.items}
          columns={columns}
          rowId={(u) => `${u.customerId}:${u.metric}:${JSON.stringify(u.dimensions)}:${u.from}`}
          empty={t('unbilled.empty', { period })}
        />
      ) : (
        !unbilled.error && <Loading what={t('loading.unbilled')} />
      )}
    </>
  );
}
