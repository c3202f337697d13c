import { createColumnHelper } from '@tanstack/react-table';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { EnvironmentField, SelectField } from '../ui/fields';
import { PagedTable } from '../ui/PagedTable';
import { useAllPages } from '../ui/useAllPages';
import { TabLinks } from './finance-parts';
import './finance.css';
import './webhooks.css';

/**
 * #/webhooks: merchants' webhook deliveries (filters: merchant, endpoint, environment, event type,
 * status, failing only), an attempt log per delivery, resending a finished one, and the endpoints
 * with their health. #/webhooks/failing opens on the failing deliveries (Home links there),
 * #/webhooks/failing/<we_…> on one endpoint's; #/webhooks/endpoints is the endpoints tab.
 */

type Delivery = CommandOutput<'webhooks:deliveries'>['items'][number];
type Endpoint = CommandOutput<'webhooks:endpoints'>['items'][number];
type DeliveryDetail = CommandOutput<'webhooks:show'>;
type Filters = Pick<CommandInput<'webhooks:deliveries'>, 'merchant' | 'endpoint' | 'environment' | 'status' | 'eventType' | 'failing'>;

/** The event types a delivery can carry (core/webhooks WEBHOOK_EVENT_TYPES: the renderer may not import core/webhooks). */
const EVENT_TYPES = ['invoice.finalized', 'invoice.paid', 'invoice.refunded', 'invoice.voided', 'payout.completed', 'merchant.registered', 'test'] as const;
const STATUSES = ['pending', 'succeeded', 'failed'] as const;
const PAGES = { firstPageSize: 100, pageSize: 500 };
const PILL: Record<string, string> = { pending: 'payment_pending', succeeded: 'paid', failed: 'void' };
/** Attempts come seconds apart (5 s, then minutes): their times show the seconds. */
const toSecond = (iso: string) => iso.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}).*$/, '$1 $2 UTC');

export function WebhooksScreen({ route }: { route: string[] }) {
  const { t } = useTranslation('webhooks');
  const tab = route[0] === 'endpoints' ? 'endpoints' : 'deliveries';
  // #/webhooks/failing[/we_…]: the failing deliveries (of one endpoint), as Home's attention links ask.
  const [filters, setFilters] = useState<Filters>(() => (route[0] === 'failing' ? { failing: true, ...(route[1] ? { endpoint: route[1] } : {}) } : {}));
  const merchants = useCommand('merchants:list', { limit: 500 }).data?.items;
  const merchantName = useMemo(() => {
    const names = new Map((merchants ?? []).map((m) => [m.id, m.name]));
    return (id: string) => names.get(id) ?? id;
  }, [merchants]);
  const set = (patch: Partial<Filters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as Filters);

  return (
    <section className="webhooks">
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <p className="muted lede">{t('explain')}</p>
      <TabLinks
        label={t('tabs.label')}
        current={tab}
        tabs={[
          { id: 'deliveries', href: filters.failing ? '#/webhooks/failing' : '#/webhooks', text: t('tabs.deliveries') },
          { id: 'endpoints', href: '#/webhooks/endpoints', text: t('tabs.endpoints') },
        ]}
      />
      {tab === 'deliveries' ? (
        <Deliveries filters={filters} set={set} merchants={merchants ?? []} merchantName={merchantName} />
      ) : (
        <Endpoints
          filters={filters}
          set={set}
          merchants={merchants ?? []}
          merchantName={merchantName}
          showDeliveries={(e) => {
            setFilters({ merchant: e.merchantId, endpoint: e.id, ...(filters.failing ? { failing: true } : {}) });
            window.location.hash = filters.failing ? `#/webhooks/failing/${e.id}` : '#/webhooks';
          }}
        />
      )}
    </section>
  );
}

interface TabProps {
  filters: Filters;
  set: (patch: Partial<Filters>) => void;
  merchants: ReadonlyArray<{ id: string; name: string }>;
  merchantName: (id: string) => string;
}

/** Merchant, environment and "failing only": the filters both tabs share. */
function CommonFilters({ filters, set, merchants }: Omit<TabProps, 'merchantName'>) {
  const { t } = useTranslation('webhooks');
  return (
    <>
      <SelectField
        name="merchant"
        label={t('filters.merchant')}
        any={t('filters.anyMerchant')}
        value={filters.merchant}
        onChange={(v) => set({ merchant: v, endpoint: undefined })}
        choices={merchants.map((m) => ({ value: m.id, label: m.name }))}
      />
      <EnvironmentField
        name="environment"
        label={t('filters.environment')}
        any={t('filters.bothEnvironments')}
        value={filters.environment}
        onChange={(v) => set({ environment: v })}
      />
      <label className="field inline-choice failing-only">
        <input type="checkbox" name="failing" checked={filters.failing ?? false} onChange={(e) => set({ failing: e.target.checked || undefined })} />
        <span>{t('filters.failing')}</span>
      </label>
    </>
  );
}

function Deliveries({ filters, set, merchants, merchantName }: TabProps) {
  const { t } = useTranslation('webhooks');
  const { can } = useSession();
  const list = useAllPages('webhooks:deliveries', filters, PAGES);
  // The endpoint filter's choices: those of the chosen merchant (every endpoint when none is chosen).
  const endpoints = useAllPages('webhooks:endpoints', filters.merchant ? { merchant: filters.merchant } : {}, PAGES);
  const [showing, setShowing] = useState<string>();
  const [resending, setResending] = useState<Delivery | DeliveryDetail>();
  const [resent, setResent] = useState<CommandOutput<'webhooks:resend'>>();
  const [generation, setGeneration] = useState(0);
  const canResend = can('webhooks:resend');

  const columns = useMemo(() => {
    const col = createColumnHelper<Delivery>();
    return [
      col.accessor('createdAt', { header: t('deliveries.columns.created'), cell: (c) => formatInstant(c.getValue()) }),
      col.accessor((d) => merchantName(d.merchantId), {
        id: 'merchant',
        header: t('deliveries.columns.merchant'),
        cell: (c) => (
          <>
            {c.getValue()} <span className="muted">{c.row.original.environment}</span>
          </>
        ),
      }),
      col.accessor('environment', { header: t('deliveries.columns.environment'), meta: { exportOnly: true } }),
      col.accessor('eventType', { header: t('deliveries.columns.eventType'), cell: (c) => <code className="id">{c.getValue()}</code> }),
      col.accessor('url', {
        header: t('deliveries.columns.endpoint'),
        cell: (c) => (
          <span className="clip narrow" title={c.getValue()}>
            {c.getValue()}
          </span>
        ),
      }),
      col.accessor('status', { header: t('deliveries.columns.status'), cell: (c) => <StatusPill delivery={c.row.original} /> }),
      col.accessor('attempts', { header: t('deliveries.columns.attempts'), meta: { numeric: true } }),
      col.accessor((d) => (d.lastStatusCode !== null ? String(d.lastStatusCode) : (d.lastError ?? '')), {
        id: 'last',
        header: t('deliveries.columns.last'),
        cell: (c) => <LastAnswer delivery={c.row.original} />,
      }),
      col.accessor('lastAttemptAt', { header: t('deliveries.columns.lastAt'), meta: { exportOnly: true } }),
      col.accessor((d) => (d.status === 'pending' ? (d.nextAttemptAt ?? '') : ''), { id: 'next', header: t('deliveries.columns.next'), meta: { exportOnly: true } }),
      col.display({
        id: 'actions',
        header: t('deliveries.columns.actions'),
        cell: (c) => {
          const d = c.row.original;
          return (
            <span className="row-actions">
              <button type="button" className="small" onClick={() => setShowing(d.id)}>
                {t('deliveries.details')}
              </button>
              {canResend && d.status !== 'pending' && (
                <button type="button" className="small" onClick={() => setResending(d)}>
                  {t('deliveries.resend')}
                </button>
              )}
            </span>
          );
        },
      }),
    ];
  }, [t, merchantName, canResend]);

  return (
    <>
      <search className="toolbar" aria-label={t('filters.label')}>
        <CommonFilters filters={filters} set={set} merchants={merchants} />
        <SelectField
          name="endpoint"
          label={t('filters.endpoint')}
          any={t('filters.anyEndpoint')}
          value={filters.endpoint}
          onChange={(v) => set({ endpoint: v })}
          choices={endpoints.rows.map((e) => ({ value: e.id, label: filters.merchant ? e.url : `${merchantName(e.merchantId)} — ${e.url}` }))}
        />
        <SelectField
          name="eventType"
          label={t('filters.eventType')}
          any={t('filters.anyEventType')}
          value={filters.eventType}
          onChange={(v) => set({ eventType: v as Filters['eventType'] })}
          choices={EVENT_TYPES.map((e) => ({ value: e, label: e }))}
        />
        <SelectField
          name="status"
          label={t('filters.status')}
          any={t('filters.anyStatus')}
          value={filters.status}
          onChange={(v) => set({ status: v as Filters['status'] })}
          choices={STATUSES.map((s) => ({ value: s, label: t(`statuses.${s}`) }))}
        />
      </search>
      {resent && <Notice>{t('resend.done', { id: resent.id, status: t(`statuses.${resent.status}`), at: formatInstant(resent.nextAttemptAt) })}</Notice>}
      <PagedTable
        list={list}
        className="payments-table webhooks-table"
        label={t('deliveries.table')}
        columns={columns}
        rowId={(d) => d.id}
        empty={t('deliveries.empty')}
        loadingWhat={t('loading.deliveries')}
      />
      {showing && !resending && (
        <DeliveryDialog
          key={`${showing}:${generation}`}
          id={showing}
          merchantName={merchantName}
          onResend={canResend ? (d) => setResending(d) : undefined}
          onClose={() => setShowing(undefined)}
        />
      )}
      {resending && (
        <ResendDialog
          delivery={resending}
          onDone={(data) => {
            setResent(data);
            setResending(undefined);
            setGeneration((g) => g + 1);
            list.reload();
          }}
          onCancel={() => setResending(undefined)}
        />
      )}
    </>
  );
}

function StatusPill({ delivery }: { delivery: Pick<Delivery, 'status' | 'attempts' | 'nextAttemptAt'> }) {
  const { t } = useTranslation('webhooks');
  // Pending after a failed attempt is a delivery in trouble, not one waiting its turn.
  const retrying = delivery.status === 'pending' && delivery.attempts > 0;
  const next = delivery.status === 'pending' && delivery.nextAttemptAt ? t('nextAt', { at: formatInstant(delivery.nextAttemptAt) }) : undefined;
  return (
    <span className={`pill ${PILL[delivery.status] ?? ''}`} title={next}>
      {retrying ? t('retrying') : t(`statuses.${delivery.status}`)}
    </span>
  );
}

/** The last answer (HTTP status, or the error when none came), its time and error in the tooltip. */
function LastAnswer({ delivery }: { delivery: Delivery }) {
  const { t } = useTranslation('webhooks');
  if (!delivery.lastAttemptAt) return <>{t('none')}</>;
  const what = delivery.lastStatusCode !== null ? t('deliveries.lastHttp', { status: String(delivery.lastStatusCode) }) : (delivery.lastError ?? '');
  return (
    <span
      className={`clip answer ${delivery.status === 'succeeded' ? '' : 'error-text'}`}
      title={[formatInstant(delivery.lastAttemptAt), delivery.lastError].filter(Boolean).join(' — ')}
    >
      {what}
    </span>
  );
}

/** One delivery: what was sent where, and every attempt (time, outcome, HTTP status, latency, response, error). */
function DeliveryDialog({
  id,
  merchantName,
  onResend,
  onClose,
}: {
  id: string;
  merchantName: (id: string) => string;
  onResend?: (d: DeliveryDetail) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation('webhooks');
  const shown = useCommand('webhooks:show', { delivery: id });
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const d = shown.data;
  return (
    <dialog ref={ref} className="dialog wide delivery-dialog" aria-labelledby="delivery-title" onCancel={onClose}>
      <h2 id="delivery-title">{t('detail.title', { id })}</h2>
      <ErrorNote error={shown.error} />
      {!d && !shown.error && <Loading what={t('loading.delivery')} />}
      {d && (
        <>
          <dl className="facts delivery-facts" aria-label={t('detail.facts')}>
            <dt>{t('detail.merchant')}</dt>
            <dd>
              {merchantName(d.merchantId)} <span className="muted">({d.environment})</span>
            </dd>
            <dt>{t('detail.endpoint')}</dt>
            <dd className="wrap">{d.url}</dd>
            <dt>{t('detail.eventType')}</dt>
            <dd>
              <code className="id">{d.eventType}</code>
            </dd>
            <dt>{t('detail.messageId')}</dt>
            <dd>
              <code className="id">{d.messageId}</code>
            </dd>
            <dt>{t('detail.status')}</dt>
            <dd data-testid="delivery-status">
              <StatusPill delivery={d} /> {d.status === 'pending' && d.nextAttemptAt && <span className="muted">{t('nextAt', { at: toSecond(d.nextAttemptAt) })}</span>}
              {d.status === 'succeeded' && d.succeededAt && <span className="muted">{toSecond(d.succeededAt)}</span>}
            </dd>
            <dt>{t('detail.created')}</dt>
            <dd>{formatInstant(d.createdAt)}</dd>
          </dl>
          <h3>
            {t('detail.attempts')} <span className="muted num">({d.attemptLog.length})</span>
          </h3>
          {d.attemptLog.length === 0 ? (
            <p className="muted">{t('detail.noAttempts')}</p>
          ) : (
            <div className="attempt-log">
              <table className="plain-table" aria-label={t('detail.attemptsTable')}>
                <thead>
                  <tr>
                    <th className="num">{t('detail.columns.n')}</th>
                    <th>{t('detail.columns.at')}</th>
                    <th>{t('detail.columns.outcome')}</th>
                    <th className="num">{t('detail.columns.status')}</th>
                    <th className="num">{t('detail.columns.latency')}</th>
                    <th>{t('detail.columns.response')}</th>
                    <th>{t('detail.columns.error')}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.attemptLog.map((a, i) => (
                    <tr key={a.id}>
                      <td className="num">{i + 1}</td>
                      <td className="nowrap">{toSecond(a.attemptedAt)}</td>
                      <td className="nowrap">
                        <span className={`pill ${a.outcome === 'succeeded' ? 'paid' : 'void'}`}>{t(`outcomes.${a.outcome}`)}</span>
                      </td>
                      <td className="num">{a.statusCode ?? t('none')}</td>
                      <td className="num nowrap">{t('detail.ms', { ms: a.latencyMs.toLocaleString('en-US') })}</td>
                      <td>{a.responseExcerpt ? <code className="excerpt">{a.responseExcerpt}</code> : t('none')}</td>
                      <td>{a.error ?? t('none')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <details className="payload">
            <summary>{t('detail.payload')}</summary>
            <pre>{JSON.stringify(d.payload, null, 2)}</pre>
          </details>
        </>
      )}
      <div className="actions">
        <button type="button" onClick={shown.reload}>
          {t('detail.refresh')}
        </button>
        {onResend && d && d.status !== 'pending' && (
          <button type="button" onClick={() => onResend(d)}>
            {t('deliveries.resend')}
          </button>
        )}
        <button type="button" className="primary" onClick={onClose}>
          {t('detail.close')}
        </button>
      </div>
    </dialog>
  );
}

/** Resend: says what goes where again (same webhook-id, a new retry schedule), then runs webhooks:resend. */
function ResendDialog({ delivery, onDone, onCancel }: { delivery: Delivery | DeliveryDetail; onDone: (resent: CommandOutput<'webhooks:resend'>) => void; onCancel: () => void }) {
  const { t } = useTranslation('webhooks');
  const { run } = useSession();
  return (
    <ConfirmDialog
      title={t('resend.title')}
      consequence={
        <p>
          <Trans
            t={t}
            i18nKey="resend.consequence"
            values={{ eventType: delivery.eventType, messageId: delivery.messageId, url: delivery.url } as never}
            components={{ b: <strong /> }}
          />
        </p>
      }
      confirmLabel={t('resend.confirm')}
      stepUp={BRIDGE_COMMANDS['webhooks:resend'].stepUp}
      run={(otp) => run('webhooks:resend', { delivery: delivery.id }, { otp })}
      onDone={(r) => onDone(r.data as CommandOutput<'webhooks:resend'>)}
      onCancel={onCancel}
    />
  );
}

function Endpoints({ filters, set, merchants, merchantName, showDeliveries }: TabProps & { showDeliveries: (e: Endpoint) => void }) {
  const { t } = useTranslation('webhooks');
  const list = useAllPages(
    'webhooks:endpoints',
    {
      ...(filters.merchant ? { merchant: filters.merchant } : {}),
      ...(filters.environment ? { environment: filters.environment } : {}),
      ...(filters.failing ? { failing: true } : {}),
    },
    PAGES,
  );
  const columns = useMemo(() => {
    const col = createColumnHelper<Endpoint>();
    return [
      col.accessor((e) => merchantName(e.merchantId), {
        id: 'merchant',
        header: t('endpoints.columns.merchant'),
        cell: (c) => (
          <>
            {c.getValue()} <span className="muted">{c.row.original.environment}</span>
          </>
        ),
      }),
      col.accessor('environment', { header: t('endpoints.columns.environment'), meta: { exportOnly: true } }),
      col.accessor('url', {
        header: t('endpoints.columns.url'),
        cell: (c) => (
          <span className="clip url" title={c.getValue()}>
            {c.getValue()}
          </span>
        ),
      }),
      col.accessor((e) => (e.eventTypes.includes('*') ? t('allEvents') : e.eventTypes.join(', ')), {
        id: 'events',
        header: t('endpoints.columns.events'),
        cell: (c) => (
          <span className="clip" title={c.getValue()}>
            {c.getValue()}
            {c.row.original.source === 'profile' && <span className="muted"> ({t('endpoints.profile')})</span>}
          </span>
        ),
      }),
      col.accessor((e) => (e.deleted ? 'deleted' : e.enabled ? 'enabled' : 'disabled'), {
        id: 'status',
        header: t('endpoints.columns.status'),
        cell: (c) => <EndpointStatus endpoint={c.row.original} />,
      }),
      col.accessor((e) => e.failingSince ?? '', {
        id: 'failingSince',
        header: t('endpoints.columns.failingSince'),
        cell: (c) => (c.getValue() ? <span className="error-text">{formatInstant(c.getValue())}</span> : t('none')),
      }),
      col.accessor('createdAt', { header: t('endpoints.columns.created'), meta: { exportOnly: true } }),
      col.display({
        id: 'actions',
        header: t('endpoints.columns.actions'),
        cell: (c) => (
          <button type="button" className="small" onClick={() => showDeliveries(c.row.original)}>
            {t('endpoints.deliveries')}
          </button>
        ),
      }),
    ];
  }, [t, merchantName, showDeliveries]);
  return (
    <>
      <search className="toolbar" aria-label={t('filters.label')}>
        <CommonFilters filters={filters} set={set} merchants={merchants} />
      </search>
      <PagedTable
        list={list}
        className="payments-table webhooks-table"
        label={t('endpoints.table')}
        columns={columns}
        rowId={(e) => e.id}
        empty={t('endpoints.empty')}
        loadingWhat={t('loading.endpoints')}
      />
    </>
  );
}

function EndpointStatus({ endpoint: e }: { endpoint: Endpoint }) {
  const { t } = useTranslation('webhooks');
  if (e.deleted) return <span className="pill">{t('endpoints.deleted')}</span>;
  if (e.enabled) return <span className={`pill ${e.failingSince ? 'payment_pending' : 'paid'}`}>{t('endpoints.enabled')}</span>;
  const why = e.disabledReason ? t(`endpoints.reasons.${e.disabledReason}`) : '';
  return (
    <span title={[e.disabledDetail, e.disabledAt ? formatInstant(e.disabledAt) : ''].filter(Boolean).join(' — ') || undefined}>
      <span className="pill void">{t('endpoints.disabled')}</span> {why && <span className="muted">{why}</span>}
    </span>
  );
}
