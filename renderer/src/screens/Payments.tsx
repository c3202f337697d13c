import { createColumnHelper } from '@tanstack/react-table';
import { useCallback, useMemo, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant, formatMinor, parseMajor } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable, compareMinor } from '../ui/DataTable';
import { minorToDecimal } from '../ui/csv';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { EnvironmentField, SelectField } from '../ui/fields';
import { PagedTable } from '../ui/PagedTable';
import { useAllPages } from '../ui/useAllPages';
import { TabLinks } from './finance-parts';
import './finance.css';

/**
 * #/payments: payment orders and payments, finance's exception queue, refunds, and reconciliation
 * on demand. Refunding (here and from a paid invoice's page) goes through `RefundDialog`: it states
 * what was paid, what is already refunded, this refund and what remains, then asks for the code.
 */

type Order = CommandOutput<'payments:list'>['items'][number];
type PaymentException = CommandOutput<'payments:exceptions'>['items'][number];
type Refund = CommandOutput<'refunds:list'>['items'][number];
type Report = CommandOutput<'payments:reconcile'>;
type Difference = Report['differences'][number];
type OrderFilters = Pick<CommandInput<'payments:list'>, 'status' | 'environment' | 'merchant'>;
export type PaymentsTab = 'orders' | 'exceptions' | 'refunds' | 'reconcile';

const ORDER_STATUSES = ['creating', 'open', 'paid', 'closed', 'expired', 'failed'] as const;
const REFUND_STATUSES = ['requested', 'pending', 'succeeded', 'failed'] as const;
/** Order and refund statuses drawn with the invoice pills' colours. */
const PILL: Record<string, string> = {
  open: 'payment_pending',
  paid: 'paid',
  succeeded: 'paid',
  requested: 'payment_pending',
  pending: 'payment_pending',
  failed: 'void',
  resolved: 'paid',
};
const PAGES = { firstPageSize: 100, pageSize: 500 };

const channelKey = (c: string) => (c === 'alipay' ? 'alipay' : 'wechat');

export function PaymentsScreen({ tab }: { tab: string | undefined }) {
  const { t } = useTranslation('payments');
  const current: PaymentsTab = tab === 'exceptions' || tab === 'refunds' || tab === 'reconcile' ? tab : 'orders';
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <TabLinks
        label={t('tabs.label')}
        current={current}
        tabs={[
          { id: 'orders', href: '#/payments', text: t('tabs.orders') },
          { id: 'exceptions', href: '#/payments/exceptions', text: t('tabs.exceptions') },
          { id: 'refunds', href: '#/payments/refunds', text: t('tabs.refunds') },
          { id: 'reconcile', href: '#/payments/reconcile', text: t('tabs.reconcile') },
        ]}
      />
      {current === 'orders' && <Orders />}
      {current === 'exceptions' && <Exceptions />}
      {current === 'refunds' && <Refunds />}
      {current === 'reconcile' && <Reconcile />}
    </section>
  );
}

type InvoiceStatus = 'draft' | 'finalized' | 'payment_pending' | 'paid' | 'void' | 'refunded';

function Orders() {
  const { t } = useTranslation('payments');
  const { t: ti } = useTranslation('invoices');
  const { run, can } = useSession();
  const [filters, setFilters] = useState<OrderFilters>({});
  const list = useAllPages('payments:list', filters, PAGES);
  const merchants = useCommand('merchants:list', { limit: 500 }).data?.items ?? [];
  const [refunding, setRefunding] = useState<Order>();
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<BridgeError>();
  const set = (patch: Partial<OrderFilters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as OrderFilters);

  const reload = list.reload;
  const payInSandbox = useCallback(
    async (o: Order) => {
      setError(undefined);
      setDone(undefined);
      const r = await run('sandbox:pay', { order: o.id });
      if (!r.ok) return setError(r.error);
      setDone(t('orders.sandboxPaid', { order: o.id, status: t(`orderStatuses.${r.data.status}`), invoiceStatus: ti(`statuses.${r.data.invoiceStatus as InvoiceStatus}`) }));
      reload();
    },
    [run, t, ti, reload],
  );

  const columns = useMemo(() => {
    const col = createColumnHelper<Order>();
    return [
      col.accessor('createdAt', { header: t('orders.columns.created'), cell: (c) => formatInstant(c.getValue()) }),
      // The invoice with its own status beside it: an order "Paid" whose invoice is refunded is not money still held.
      col.accessor('invoiceNumber', {
        header: t('orders.columns.invoice'),
        cell: (c) => (
          <span className="invoice-ref">
            <a href={`#/invoices/${c.row.original.invoiceId}`}>{c.getValue()}</a>
            <span className={`pill ${c.row.original.invoiceStatus}`} title={t('orders.columns.invoiceStatus')}>
              {ti(`statuses.${c.row.original.invoiceStatus as InvoiceStatus}`)}
            </span>
          </span>
        ),
      }),
      col.accessor('channel', { header: t('orders.columns.channel'), cell: (c) => t(`channels.${channelKey(c.getValue())}`) }),
      col.accessor('environment', { header: t('orders.columns.environment') }),
      col.accessor('amountMinor', {
        header: t('orders.columns.amount'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.amountMinor, r.currency) },
        sortingFn: (a, b) => compareMinor(a.original.amountMinor, b.original.amountMinor),
        cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
      }),
      col.accessor('status', { header: t('orders.columns.status'), cell: (c) => <span className={`pill ${PILL[c.getValue()] ?? ''}`}>{t(`orderStatuses.${c.getValue()}`)}</span> }),
      col.accessor((o) => o.payment?.paidAt ?? '', { id: 'paidAt', header: t('orders.columns.paidAt'), cell: (c) => formatInstant(c.getValue() || null) }),
      // WeChat Pay's ids run to 28 digits: clipped here (whole on hover and in the CSV) so the actions stay in view.
      col.accessor((o) => o.payment?.transactionId ?? '', {
        id: 'transaction',
        header: t('orders.columns.transaction'),
        cell: (c) => (
          <code className="id clip tight" title={c.getValue()}>
            {c.getValue()}
          </code>
        ),
      }),
      col.display({
        id: 'actions',
        header: t('orders.columns.actions'),
        cell: (c) => {
          const o = c.row.original;
          return (
            <span className="row-actions">
              {can('refunds:create') && o.status === 'paid' && o.invoiceStatus === 'paid' && (
                <button type="button" className="small" onClick={() => setRefunding(o)}>
                  {t('orders.refund')}
                </button>
              )}
              {can('sandbox:pay') && o.environment === 'sandbox' && o.status === 'open' && (
                <button type="button" className="small" onClick={() => void payInSandbox(o)}>
                  {t('orders.sandboxPay')}
                </button>
              )}
            </span>
          );
        },
      }),
    ];
  }, [t, ti, can, payInSandbox]);

  return (
    <>
      <search className="toolbar" aria-label={t('filters.label')}>
        <SelectField
          name="status"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={filters.status}
          onChange={(v) => set({ status: v as OrderFilters['status'] })}
          choices={ORDER_STATUSES.map((s) => ({ value: s, label: t(`orderStatuses.${s}`) }))}
        />
        <EnvironmentField
          name="environment"
          label={t('filters.environment')}
          any={t('filters.bothEnvironments')}
          value={filters.environment}
          onChange={(v) => set({ environment: v })}
        />
        <SelectField
          name="merchant"
          label={t('filters.merchant')}
          any={t('filters.anyMerchant')}
          value={filters.merchant}
          onChange={(v) => set({ merchant: v })}
          choices={merchants.map((m) => ({ value: m.id, label: m.name }))}
        />
      </search>
      {done && <Notice>{done}</Notice>}
      <PagedTable
        list={list}
        error={error}
        className="payments-table"
        label={t('orders.table')}
        columns={columns}
        rowId={(o) => o.id}
        empty={t('orders.empty')}
        loadingWhat={t('loading.orders')}
      />
      {refunding && (
        <RefundDialog
          invoiceId={refunding.invoiceId}
          onDone={(message) => {
            setDone(message);
            setRefunding(undefined);
            list.reload();
          }}
          onCancel={() => setRefunding(undefined)}
        />
      )}
    </>
  );
}

/**
 * Refunds part or all of a paid invoice. The statement is the core's own totals (refunds:list for
 * the invoice): paid, refunded, in progress, this refund, and what will remain refundable.
 */
export function RefundDialog({ invoiceId, onDone, onCancel }: { invoiceId: string; onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('payments');
  const { run } = useSession();
  const totals = useCommand('refunds:list', { invoice: invoiceId, limit: 1 });
  const inv = totals.data?.invoice ?? undefined;
  const channel = totals.data?.items[0]?.channel;
  const orders = useCommand('payments:list', { invoice: invoiceId, status: 'paid', limit: 1 });
  const paidChannel = orders.data?.items[0]?.channel ?? channel;
  const [amountText, setAmountText] = useState('');
  const [reason, setReason] = useState('');
  const currency = inv?.currency ?? 'CNY';
  const amount = parseMajor(amountText, currency);
  const left = inv ? BigInt(inv.refundableMinor) : 0n;
  const over = amount !== undefined && BigInt(amount) > left;
  const remains = amount !== undefined && !over ? (left - BigInt(amount)).toString() : undefined;
  const money = (m: string) => formatMinor(m, currency);

  if (!inv) {
    return (
      <ConfirmDialog
        title={t('refund.statement')}
        consequence={<Loading what={t('loading.totals')} />}
        confirmLabel="…"
        stepUp={false}
        ready={false}
        run={async () => ({ ok: true, data: null })}
        onDone={() => {}}
        onCancel={onCancel}
      >
        <ErrorNote error={totals.error} />
      </ConfirmDialog>
    );
  }

  return (
    <ConfirmDialog
      title={t('refund.title', { number: inv.invoiceNumber })}
      tone="danger"
      consequence={
        <>
          <dl className="facts money refund-statement" aria-label={t('refund.statement')}>
            <dt>{t('refund.invoice')}</dt>
            <dd>{inv.invoiceNumber}</dd>
            <dt>{t('refund.paid')}</dt>
            <dd className="num">{money(inv.paidMinor)}</dd>
            <dt>{t('refund.refunded')}</dt>
            <dd className="num">{money(inv.refundedMinor)}</dd>
            {inv.inFlightMinor !== '0' && (
              <>
                <dt>{t('refund.inFlight')}</dt>
                <dd className="num">{money(inv.inFlightMinor)}</dd>
              </>
            )}
            <dt className="strong">{t('refund.thisRefund')}</dt>
            <dd className="num strong" data-testid="this-refund">
              {amount && !over ? `−${money(amount)}` : '—'}
            </dd>
            <dt>{t('refund.remains')}</dt>
            <dd className="num" data-testid="refund-remains">
              {remains !== undefined ? money(remains) : money(inv.refundableMinor)}
            </dd>
          </dl>
          {paidChannel && <p className="muted">{t('refund.channel', { channel: t(`channels.${channelKey(paidChannel)}`) })}</p>}
          {left === 0n && <p className="error">{t('refund.nothingLeft')}</p>}
          {over && <p className="error">{t('refund.over', { left: money(inv.refundableMinor) })}</p>}
          {remains !== undefined && <p>{remains === '0' ? t('refund.full') : t('refund.partial')}</p>}
        </>
      }
      confirmLabel={amount && !over ? t('refund.confirm', { amount: money(amount) }) : t('refund.open')}
      stepUp={BRIDGE_COMMANDS['refunds:create'].stepUp}
      ready={amount !== undefined && !over && reason.trim().length >= 3}
      run={(otp) => run('refunds:create', { invoice: invoiceId, amount: amount ?? '', reason: reason.trim() }, { otp })}
      onDone={(r) => {
        const data = r.data as CommandOutput<'refunds:create'>;
        onDone(
          t('refund.done', {
            amount: money(data.refund.amountMinor),
            number: data.invoice.invoiceNumber,
            status: t(`refundStatuses.${data.refund.status}`),
            remains: money(data.invoice.refundableMinor),
          }),
        );
      }}
      onCancel={onCancel}
    >
      <div className="amount-row">
        <label className="field">
          <span>{t('refund.amount')}</span>
          <input name="amount" inputMode="decimal" autoComplete="off" value={amountText} onChange={(e) => setAmountText(e.target.value)} />
        </label>
        <button type="button" className="link" onClick={() => setAmountText(minorToDecimal(inv.refundableMinor, currency))} disabled={left === 0n}>
          {t('refund.all')}
        </button>
      </div>
      <label className="field">
        <span>{t('refund.reason')}</span>
        <textarea name="reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}

function Exceptions() {
  const { t } = useTranslation('payments');
  const { run, can } = useSession();
  const [status, setStatus] = useState<'open' | 'resolved' | undefined>('open');
  const list = useAllPages('payments:exceptions', status ? { status } : {}, PAGES);
  const [resolving, setResolving] = useState<PaymentException>();
  const [resolution, setResolution] = useState('');
  const [done, setDone] = useState<string>();
  const columns = useMemo(() => {
    const col = createColumnHelper<PaymentException>();
    return [
      col.accessor('createdAt', { header: t('exceptions.columns.created'), cell: (c) => formatInstant(c.getValue()) }),
      col.accessor('kind', { header: t('exceptions.columns.kind'), cell: (c) => t(`exceptions.kinds.${c.getValue() as keyof typeof KINDS}`, { defaultValue: c.getValue() }) }),
      col.accessor('channel', { header: t('exceptions.columns.channel'), cell: (c) => t(`channels.${channelKey(c.getValue())}`) }),
      col.accessor('amountMinor', {
        header: t('exceptions.columns.amount'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.amountMinor, 'CNY') },
        sortingFn: (a, b) => compareMinor(a.original.amountMinor, b.original.amountMinor),
        cell: (c) => formatMinor(c.getValue(), 'CNY'),
      }),
      col.accessor('outTradeNo', {
        header: t('exceptions.columns.outTradeNo'),
        cell: (c) => (
          <code className="id clip narrow" title={c.getValue()}>
            {c.getValue()}
          </code>
        ),
      }),
      col.accessor('detail', {
        header: t('exceptions.columns.detail'),
        cell: (c) => (
          <span className="clip" title={c.getValue()}>
            {c.getValue()}
          </span>
        ),
      }),
      col.accessor('status', {
        header: t('exceptions.columns.status'),
        cell: (c) => <span className={`pill ${c.getValue() === 'open' ? 'payment_pending' : 'paid'}`}>{t(`exceptionStatuses.${c.getValue()}`)}</span>,
      }),
      col.accessor((e) => e.resolution ?? '', {
        id: 'resolution',
        header: t('exceptions.columns.resolution'),
        cell: (c) => (c.row.original.resolution ? t('exceptions.resolvedBy', { resolution: c.row.original.resolution, at: formatInstant(c.row.original.resolvedAt) }) : '—'),
      }),
      col.display({
        id: 'actions',
        header: t('exceptions.columns.actions'),
        cell: (c) =>
          can('payments:resolve-exception') && c.row.original.status === 'open' ? (
            <button type="button" className="small" onClick={() => setResolving(c.row.original)}>
              {t('exceptions.resolve')}
            </button>
          ) : null,
      }),
    ];
  }, [t, can]);
  // The open queue has no resolutions to show: its column would only push the action off screen.
  const shown = useMemo(() => (status === 'open' ? columns.filter((c) => c.id !== 'resolution') : columns), [columns, status]);
  return (
    <>
      <p className="muted lede">{t('exceptions.explain')}</p>
      <search className="toolbar" aria-label={t('filters.label')}>
        <SelectField
          name="exceptionStatus"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={status}
          onChange={(v) => setStatus(v as typeof status)}
          choices={(['open', 'resolved'] as const).map((s) => ({ value: s, label: t(`exceptionStatuses.${s}`) }))}
        />
      </search>
      {done && <Notice>{done}</Notice>}
      <PagedTable
        list={list}
        className="payments-table"
        label={t('exceptions.table')}
        columns={shown}
        rowId={(e) => e.id}
        empty={t('exceptions.empty')}
        loadingWhat={t('loading.exceptions')}
      />
      {resolving && (
        <ConfirmDialog
          title={t('exceptions.title')}
          consequence={
            <p>
              <Trans
                t={t}
                i18nKey="exceptions.consequence"
                values={
                  {
                    amount: formatMinor(resolving.amountMinor, 'CNY'),
                    kind: t(`exceptions.kinds.${resolving.kind as keyof typeof KINDS}`, { defaultValue: resolving.kind }),
                    channel: t(`channels.${channelKey(resolving.channel)}`),
                    transaction: resolving.transactionId,
                  } as never
                }
                components={{ b: <strong /> }}
              />
            </p>
          }
          confirmLabel={t('exceptions.confirm')}
          stepUp={BRIDGE_COMMANDS['payments:resolve-exception'].stepUp}
          ready={resolution.trim().length >= 3}
          run={(otp) => run('payments:resolve-exception', { exception: resolving.id, resolution: resolution.trim() }, { otp })}
          onDone={() => {
            setDone(t('exceptions.done', { id: resolving.id }));
            setResolving(undefined);
            setResolution('');
            list.reload();
          }}
          onCancel={() => setResolving(undefined)}
        >
          <label className="field">
            <span>{t('exceptions.resolution')}</span>
            <textarea name="resolution" rows={3} placeholder={t('exceptions.resolutionPlaceholder')} value={resolution} onChange={(e) => setResolution(e.target.value)} />
          </label>
        </ConfirmDialog>
      )}
    </>
  );
}

/** The exception kinds with words of their own (others show the code). */
const KINDS = {
  amount_mismatch: 1,
  unknown_order: 1,
  order_closed: 1,
  invoice_not_payable: 1,
  duplicate_payment: 1,
  unknown_refund: 1,
  refund_mismatch: 1,
} as const;

function Refunds() {
  const { t } = useTranslation('payments');
  const { run, can } = useSession();
  const [status, setStatus] = useState<(typeof REFUND_STATUSES)[number]>();
  const list = useAllPages('refunds:list', status ? { status } : {}, PAGES);
  const reload = list.reload;
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<BridgeError>();
  const columns = useMemo(() => {
    const col = createColumnHelper<Refund>();
    const retry = async (r: Refund) => {
      setDone(undefined);
      setError(undefined);
      const res = await run('refunds:retry', { refund: r.id });
      if (!res.ok) return setError(res.error);
      setDone(t('refunds.retried', { id: r.id, status: t(`refundStatuses.${res.data.refund.status}`) }));
      reload();
    };
    return [
      col.accessor('createdAt', { header: t('refunds.columns.requested'), cell: (c) => formatInstant(c.getValue()) }),
      col.accessor('invoiceNumber', { header: t('refunds.columns.invoice'), cell: (c) => <a href={`#/invoices/${c.row.original.invoiceId}`}>{c.getValue()}</a> }),
      col.accessor('channel', { header: t('refunds.columns.channel'), cell: (c) => t(`channels.${channelKey(c.getValue())}`) }),
      col.accessor('amountMinor', {
        header: t('refunds.columns.amount'),
        meta: { numeric: true, csv: (r) => minorToDecimal(r.amountMinor, r.currency) },
        sortingFn: (a, b) => compareMinor(a.original.amountMinor, b.original.amountMinor),
        cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
      }),
      col.accessor('reason', {
        header: t('refunds.columns.reason'),
        cell: (c) => (
          <span className="clip" title={c.getValue()}>
            {c.getValue()}
          </span>
        ),
      }),
      col.accessor('status', {
        header: t('refunds.columns.status'),
        cell: (c) => (
          <span className={`pill ${PILL[c.getValue()] ?? ''}`} title={c.row.original.failureReason ?? undefined}>
            {t(`refundStatuses.${c.getValue()}`)}
          </span>
        ),
      }),
      col.accessor('requestedByEmail', { header: t('refunds.columns.requestedBy'), cell: (c) => c.getValue() ?? '—' }),
      col.accessor('succeededAt', { header: t('refunds.columns.succeeded'), cell: (c) => (c.getValue() ? formatInstant(c.getValue() as string) : '—') }),
      col.accessor('outRefundNo', {
        header: t('refunds.columns.outRefundNo'),
        cell: (c) => (
          <code className="id clip narrow" title={c.getValue()}>
            {c.getValue()}
          </code>
        ),
      }),
      col.display({
        id: 'actions',
        header: t('refunds.columns.actions'),
        cell: (c) =>
          can('refunds:retry') && (c.row.original.status === 'requested' || c.row.original.status === 'pending') ? (
            <button type="button" className="small" onClick={() => void retry(c.row.original)}>
              {t('refunds.retry')}
            </button>
          ) : null,
      }),
    ];
  }, [t, can, run, reload]);
  return (
    <>
      <search className="toolbar" aria-label={t('filters.label')}>
        <SelectField
          name="refundStatus"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={status}
          onChange={(v) => setStatus(v as typeof status)}
          choices={REFUND_STATUSES.map((s) => ({ value: s, label: t(`refundStatuses.${s}`) }))}
        />
      </search>
      {done && <Notice>{done}</Notice>}
      <PagedTable
        list={list}
        error={error}
        className="payments-table"
        label={t('refunds.table')}
        columns={columns}
        rowId={(r) => r.id}
        empty={t('refunds.empty')}
        loadingWhat={t('loading.refunds')}
      />
    </>
  );
}

function Reconcile() {
  const { t } = useTranslation('payments');
  const { run, can } = useSession();
  const [report, setReport] = useState<Report>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<BridgeError>();
  const start = async () => {
    setRunning(true);
    setError(undefined);
    const r = await run('payments:reconcile', {});
    setRunning(false);
    if (r.ok) setReport(r.data);
    else setError(r.error);
  };
  const col = createColumnHelper<Difference>();
  const columns = [
    col.accessor('subject', { header: t('reconcile.columns.subject'), cell: (c) => t(`reconcile.subjects.${c.getValue()}`) }),
    col.accessor('id', { header: t('reconcile.columns.id'), cell: (c) => <code className="id">{c.getValue()}</code> }),
    col.accessor('invoiceId', { header: t('reconcile.columns.invoice'), cell: (c) => <a href={`#/invoices/${c.getValue()}`}>{c.getValue()}</a> }),
    col.accessor('channel', { header: t('reconcile.columns.channel'), cell: (c) => t(`channels.${channelKey(c.getValue())}`) }),
    col.accessor('found', { header: t('reconcile.columns.found'), cell: (c) => t(`reconcile.found.${c.getValue()}`) }),
    col.accessor('channelState', { header: t('reconcile.columns.channelState') }),
    col.accessor('did', { header: t('reconcile.columns.did') }),
    col.accessor((d) => d.exceptionId ?? '', {
      id: 'exception',
      header: t('reconcile.columns.exception'),
      cell: (c) => (c.getValue() ? <a href="#/payments/exceptions">{c.getValue()}</a> : '—'),
    }),
  ];
  return (
    <>
      <p className="muted lede">{t('reconcile.explain')}</p>
      {can('payments:reconcile') && (
        <p>
          <button type="button" className="primary" onClick={() => void start()} disabled={running}>
            {running ? t('reconcile.running') : t('reconcile.run')}
          </button>
        </p>
      )}
      <ErrorNote error={error} />
      {report ? (
        <>
          <Notice>
            {t('reconcile.summary', {
              at: formatInstant(report.at),
              checked: String(report.checked),
              differences: String(report.differences.length),
              errors: String(report.errors.length),
            })}
          </Notice>
          <div className="payments-table">
            <DataTable label={t('reconcile.table')} data={report.differences} columns={columns} rowId={(d) => `${d.subject}:${d.id}`} empty={t('reconcile.empty')} />
          </div>
          {report.errors.length > 0 && (
            <>
              <h2>{t('reconcile.errorsTitle')}</h2>
              <ul className="plain error">
                {report.errors.map((e) => (
                  <li key={`${e.subject}:${e.id}`}>
                    <code className="id">{e.id}</code> {e.message} <code className="code">{e.code}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      ) : (
        <p className="muted">{t('reconcile.notRun')}</p>
      )}
    </>
  );
}
