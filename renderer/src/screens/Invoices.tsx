import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatBps, formatInstant, formatMinor, formatPeriod, formatQuantity } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable, compareMinor } from '../ui/DataTable';
import { ErrorNote, Loading } from '../ui/Feedback';

type Summary = CommandOutput<'invoices:list'>['items'][number];
type Report = CommandOutput<'invoices:generate'>;
type Invoice = CommandOutput<'invoices:show'>;
type Filters = Pick<CommandInput<'invoices:list'>, 'status' | 'environment' | 'period' | 'merchant'>;
const INVOICE_STATUSES = ['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded'] as const;

const col = createColumnHelper<Summary>();
const columns = [
  col.accessor('invoiceNumber', { header: 'Number' }),
  col.accessor('customerExternalId', { header: 'Customer' }),
  col.accessor('periodStart', { header: 'Period', cell: (c) => formatPeriod(c.row.original.periodStart, c.row.original.periodEnd) }),
  col.accessor('environment', { header: 'Env' }),
  col.accessor('status', { header: 'Status', cell: (c) => <span className={`pill ${c.getValue()}`}>{c.getValue().replace('_', ' ')}</span> }),
  col.accessor('subtotalMinor', {
    header: 'Subtotal',
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.subtotalMinor, b.original.subtotalMinor),
    cell: (c) => formatMinor(c.getValue(), c.row.original.pricingCurrency),
  }),
  col.accessor('collectionAmountMinor', {
    header: 'Collect (CNY)',
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.collectionAmountMinor, b.original.collectionAmountMinor),
    cell: (c) => formatMinor(c.getValue(), 'CNY'),
  }),
  col.accessor('netSettlementMinor', {
    header: 'Net to merchant',
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.netSettlementMinor, b.original.netSettlementMinor),
    cell: (c) => formatMinor(c.getValue(), c.row.original.settlementCurrency),
  }),
];

export function InvoicesScreen() {
  const { run, can } = useSession();
  const [filters, setFilters] = useState<Filters>({});
  const list = useCommand('invoices:list', filters);
  const [generating, setGenerating] = useState(false);
  const [asOf, setAsOf] = useState('');
  const [report, setReport] = useState<Report>();
  const set = (patch: Partial<Filters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as Filters);

  return (
    <section>
      <header className="screen-head">
        <h1>Invoices</h1>
        {can('invoices:generate') && (
          <button type="button" className="primary" onClick={() => setGenerating(true)}>
            Generate invoices…
          </button>
        )}
      </header>
      <search className="toolbar" aria-label="Invoice filters">
        <label className="field">
          <span>Status</span>
          <select name="status" value={filters.status ?? ''} onChange={(e) => set({ status: (e.target.value || undefined) as Filters['status'] })}>
            <option value="">Any</option>
            {INVOICE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Environment</span>
          <select name="environment" value={filters.environment ?? ''} onChange={(e) => set({ environment: (e.target.value || undefined) as Filters['environment'] })}>
            <option value="">Both</option>
            <option value="live">live</option>
            <option value="sandbox">sandbox</option>
          </select>
        </label>
        <label className="field">
          <span>Period (month)</span>
          <input name="period" type="month" value={filters.period ?? ''} onChange={(e) => set({ period: e.target.value || undefined })} />
        </label>
        <label className="field">
          <span>Merchant id</span>
          <input name="merchant" placeholder="mer_…" value={filters.merchant ?? ''} onChange={(e) => set({ merchant: e.target.value.trim() || undefined })} />
        </label>
      </search>
      {report && <RunReport report={report} onClose={() => setReport(undefined)} />}
      <ErrorNote error={list.error} />
      {list.data ? (
        <DataTable
          label="Invoices"
          data={list.data.items}
          columns={columns}
          rowId={(r) => r.id}
          onRowClick={(r) => {
            window.location.hash = `#/invoices/${encodeURIComponent(r.id)}`;
          }}
          empty="No invoices match these filters."
        />
      ) : (
        <Loading what="invoices" />
      )}
      {generating && (
        <ConfirmDialog
          title="Generate invoices"
          consequence={
            <p>
              This invoices every billing period that ended by <strong>{asOf ? formatInstant(`${asOf}:00Z`) : 'now'}</strong> (less the late-event grace window), for every merchant
              and both environments. Each invoice is final once created and is posted to the ledger; periods already invoiced are skipped, not billed twice.
            </p>
          }
          confirmLabel="Generate invoices"
          stepUp={BRIDGE_COMMANDS['invoices:generate'].stepUp}
          run={(otp) => run('invoices:generate', asOf ? { asOf: `${asOf}:00Z` } : {}, { otp })}
          onDone={(r) => {
            setReport(r.data as Report);
            setGenerating(false);
            list.reload();
          }}
          onCancel={() => setGenerating(false)}
        >
          <label className="field">
            <span>As of (UTC, empty = now)</span>
            <input name="asOf" type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
          </label>
        </ConfirmDialog>
      )}
    </section>
  );
}

function RunReport({ report, onClose }: { report: Report; onClose: () => void }) {
  return (
    <div className="panel" data-testid="run-report">
      <div className="panel-head">
        <strong>
          Invoice run as of {formatInstant(report.asOf)}: {report.created.length} created, {report.skipped.length} already invoiced, {report.failed.length} failed
        </strong>
        <button type="button" onClick={onClose}>
          Close
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
              Contract {f.contractId}, {formatPeriod(f.periodStart, f.periodEnd)}: {f.message} <code className="code">{f.error}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

type Line = Invoice['lines'][number];
type Fx = Invoice['fxSnapshot'][number];
const lineCol = createColumnHelper<Line>();
const fxCol = createColumnHelper<Fx>();

export function InvoiceDetail({ id }: { id: string }) {
  const shown = useCommand('invoices:show', { invoice: id });
  const inv = shown.data;
  const lineColumns = [
    lineCol.accessor('lineNo', { header: '#', meta: { numeric: true } }),
    lineCol.accessor('metric', { header: 'Metric' }),
    lineCol.accessor('dimensions', {
      header: 'Dimensions',
      enableSorting: false,
      cell: (c) =>
        Object.entries(c.getValue())
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || '(fallback price)',
    }),
    lineCol.accessor('pricingModel', { header: 'Model', cell: (c) => c.getValue().replace('_', ' ') }),
    lineCol.accessor('quantity', {
      header: 'Quantity',
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.quantity, b.original.quantity),
      cell: (c) => formatQuantity(c.getValue()),
    }),
    lineCol.accessor('amountMinor', {
      header: 'Amount',
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.amountMinor, b.original.amountMinor),
      cell: (c) => (inv ? formatMinor(c.getValue(), inv.pricingCurrency) : c.getValue()),
    }),
  ];
  const fxColumns = [
    fxCol.accessor('use', { header: 'Used for' }),
    fxCol.accessor('pair', { header: 'Pair' }),
    fxCol.accessor('rate', { header: 'Rate', meta: { numeric: true } }),
    fxCol.accessor('effectiveAt', { header: 'Effective', cell: (c) => formatInstant(c.getValue()) }),
    fxCol.accessor('source', { header: 'Source' }),
    fxCol.accessor('id', { header: 'Rate record' }),
  ];
  return (
    <section>
      <p>
        <a href="#/invoices">← Invoices</a>
      </p>
      <ErrorNote error={shown.error} />
      {!inv && !shown.error && <Loading what="the invoice" />}
      {inv && (
        <>
          <header className="screen-head">
            <h1>
              Invoice {inv.invoiceNumber} <span className={`pill ${inv.status}`}>{inv.status.replace('_', ' ')}</span>
            </h1>
          </header>
          <dl className="facts">
            <dt>Customer</dt>
            <dd>{inv.customerExternalId}</dd>
            <dt>Merchant</dt>
            <dd>{inv.merchantId}</dd>
            <dt>Period</dt>
            <dd>{formatPeriod(inv.periodStart, inv.periodEnd)}</dd>
            <dt>Environment</dt>
            <dd>{inv.environment}</dd>
            <dt>Finalized</dt>
            <dd>{formatInstant(inv.finalizedAt)}</dd>
            <dt>Subtotal</dt>
            <dd className="num">{formatMinor(inv.subtotalMinor, inv.pricingCurrency)}</dd>
            <dt>Customer pays</dt>
            <dd className="num">{formatMinor(inv.collectionAmountMinor, inv.collectionCurrency)}</dd>
            <dt>Service fee ({formatBps(inv.serviceFeeBps)})</dt>
            <dd className="num">{formatMinor(inv.platformFeeMinor, inv.settlementCurrency)}</dd>
            <dt>Net to merchant</dt>
            <dd className="num strong">{formatMinor(inv.netSettlementMinor, inv.settlementCurrency)}</dd>
            {inv.voidedAt && (
              <>
                <dt>Voided</dt>
                <dd>
                  {formatInstant(inv.voidedAt)}: {inv.voidReason}
                </dd>
              </>
            )}
          </dl>
          <h2>Lines</h2>
          <DataTable label="Invoice lines" data={inv.lines} columns={lineColumns} rowId={(l) => String(l.lineNo)} empty="No usage in this period." />
          <h2>FX snapshot</h2>
          <DataTable
            label="FX snapshot"
            data={inv.fxSnapshot}
            columns={fxColumns}
            rowId={(f) => `${f.use}:${f.id}`}
            empty="No conversion: priced, collected and settled in one currency."
          />
        </>
      )}
    </section>
  );
}
