import { Suspense, lazy, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BackOfficeCommandName, CommandOutput } from '../../../core/backoffice/bridge.js';
import { CURRENCY_EXPONENTS } from '../../../core/money/currencies.js';
import { useCommand, useSession } from '../api';
import { formatInstant, formatMinor, formatQuantity } from '../money';
import type { ChartOption } from '../ui/Chart';
import { ErrorNote, Loading } from '../ui/Feedback';
import './finance.css';
import './webhooks.css';

// ECharts is most of the bundle and only the home screen draws: it loads as its own chunk, after
// the first paint, so signing in and every other screen never wait for it.
const LazyChart = lazy(() => import('../ui/Chart').then((m) => ({ default: m.Chart })));
function Chart(props: { option: ChartOption; label: string }) {
  return (
    <Suspense fallback={<div className="chart" role="img" aria-label={props.label} aria-busy="true" />}>
      <LazyChart {...props} />
    </Suspense>
  );
}

/**
 * The metrics in display order, with names in the home namespace (usage.metrics). The renderer may
 * not import core/usage (dependency rules); a metric core adds later shows under its raw code until
 * it is named here.
 */
const USAGE_METRICS = ['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb'] as const;
type UsageMetric = (typeof USAGE_METRICS)[number];

type Overview = CommandOutput<'reports:overview'>;
type Attention = Overview['attention'][number];
type Series = NonNullable<Overview['series']>;

/** Where each kind of attention is resolved, and the command that screen needs (hidden from roles without it). */
const RESOLVED_AT: Record<Attention['kind'], { href: string; needs: BackOfficeCommandName }> = {
  kyb_pending_review: { href: '#/kyb', needs: 'kyb:list' },
  kyb_info_requested: { href: '#/kyb', needs: 'kyb:list' },
  invoice_periods_overdue: { href: '#/invoices', needs: 'invoices:generate' },
};

const ACCENT = '#3451b2';
const MUTED = '#667085';
const GRID = '#eef0f3';

const rank = (metric: string) => {
  const i = (USAGE_METRICS as readonly string[]).indexOf(metric);
  return i < 0 ? USAGE_METRICS.length : i;
};

/** Whole days between an instant and now, for "waiting 3 days". */
function daysSince(iso: string, now: string): number {
  return Math.max(0, Math.floor((Date.parse(now) - Date.parse(iso)) / 86_400_000));
}

/** A compact axis label (12.3k, 4.5M): display only, the exact figure is in the tooltip. */
function compact(n: number): string {
  const abs = Math.abs(n);
  for (const [d, s] of [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const)
    if (abs >= d) return `${(n / d).toFixed(abs >= d * 10 ? 0 : 1)}${s}`;
  return String(Math.round(n * 100) / 100);
}

export function HomeScreen() {
  const { t } = useTranslation('home');
  const { can } = useSession();
  const [environment, setEnvironment] = useState<'live' | 'sandbox'>('live');
  const overview = useCommand('reports:overview', { environment });
  // Asked beside the overview, not after it: Home's reads all start at once. Every role may read
  // endpoints and merchants today; a role that could not simply sees no webhook card.
  const failingWebhooks = useCommand('webhooks:endpoints', { failing: true, limit: 100 });
  const merchants = useCommand('merchants:list', { limit: 500 }).data?.items;
  // Closed batches wait for two admins; a role without settlement simply sees no card.
  const awaitingSettlement = useCommand('settlement:list', { status: 'closed', limit: 100 });
  const data = overview.data;

  return (
    <section className="home">
      <header className="screen-head">
        <h1>{t('title')}</h1>
        {data?.series && (
          <label className="inline">
            {t('environment')}{' '}
            <select name="environment" value={environment} onChange={(e) => setEnvironment(e.target.value as 'live' | 'sandbox')}>
              <option value="live">{t('live')}</option>
              <option value="sandbox">{t('sandbox')}</option>
            </select>
          </label>
        )}
      </header>
      <ErrorNote error={overview.error} />
      {!data && !overview.error && <Loading what={t('loading')} />}
      {data && (
        <>
          <h2 className="section-title">{t('attention.title')}</h2>
          <div className="attention-grid" data-testid="attention">
            {data.attention.map((a) => (
              <AttentionCard key={a.kind} item={a} asOf={data.asOf} />
            ))}
            {can('webhooks:endpoints') && failingWebhooks.data && <FailingWebhooks failing={failingWebhooks.data} merchants={merchants} asOf={data.asOf} />}
            {can('settlement:list') && awaitingSettlement.data && <AwaitingSettlement batches={awaitingSettlement.data} asOf={data.asOf} />}
          </div>
          {data.series ? (
            <div className="chart-grid">
              <InvoicedChart series={data.series} environment={data.environment} />
              <UsageChart series={data.series} />
            </div>
          ) : (
            <p className="muted">{t('seriesForFinance')}</p>
          )}
          <p className="muted small">{t('asOf', { at: formatInstant(data.asOf) })}</p>
        </>
      )}
    </section>
  );
}

function AttentionCard({ item, asOf }: { item: Attention; asOf: string }) {
  const { t } = useTranslation('home');
  const { can } = useSession();
  const where = RESOLVED_AT[item.kind];
  const clear = item.count === 0;
  const body = (
    <>
      <span className="count num">{item.count.toLocaleString('en-US')}</span>
      <span className="what">{t(`attention.kinds.${item.kind}.label`)}</span>
      <span className="detail muted">
        {clear
          ? t(`attention.kinds.${item.kind}.clear`)
          : item.oldestAt
            ? t(`attention.kinds.${item.kind}.oldest`, { at: formatInstant(item.oldestAt), days: String(daysSince(item.oldestAt, asOf)) })
            : ''}
      </span>
      {!clear && can(where.needs) && <span className="go">{t(`attention.kinds.${item.kind}.go`)} →</span>}
    </>
  );
  const className = `attention-card ${clear ? 'clear' : item.severity}`;
  return !clear && can(where.needs) ? (
    <a className={className} href={where.href} data-kind={item.kind}>
      {body}
    </a>
  ) : (
    <div className={className} data-kind={item.kind}>
      {body}
    </div>
  );
}

function InvoicedChart({ series, environment }: { series: Series; environment: string }) {
  const { t } = useTranslation('home');
  // The currency with the most invoices first: the one most staff want to see.
  const currencies = useMemo(() => [...series.invoiced].sort((a, b) => b.invoiceCounts.reduce((x, y) => x + y, 0) - a.invoiceCounts.reduce((x, y) => x + y, 0)), [series]);
  const [chosen, setChosen] = useState<string>();
  const row = currencies.find((c) => c.currency === chosen) ?? currencies[0];
  const option = useMemo<ChartOption | undefined>(() => {
    if (!row) return undefined;
    const scale = 10 ** (CURRENCY_EXPONENTS[row.currency] ?? 0);
    return {
      grid: { left: 8, right: 12, top: 16, bottom: 4, containLabel: true },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        formatter: (params: unknown) => {
          const i = (Array.isArray(params) ? params[0] : params) as { dataIndex: number };
          return `${series.months[i.dataIndex]}\n${formatMinor(row.amountsMinor[i.dataIndex], row.currency)}\n${t('invoiced.count', { n: String(row.invoiceCounts[i.dataIndex]) })}`;
        },
      },
      xAxis: { type: 'category', data: series.months, axisTick: { show: false }, axisLine: { lineStyle: { color: '#d0d5dd' } }, axisLabel: { color: MUTED, fontSize: 11 } },
      yAxis: { type: 'value', splitLine: { lineStyle: { color: GRID } }, axisLabel: { color: MUTED, fontSize: 11, formatter: (v: number) => compact(v) } },
      // Floats only here, for bar heights; every figure shown is formatted from the exact string.
      series: [
        { type: 'bar', name: row.currency, data: row.amountsMinor.map((m) => Number(m) / scale), itemStyle: { color: ACCENT, borderRadius: [2, 2, 0, 0] }, barMaxWidth: 28 },
      ],
    };
  }, [row, series.months, t]);
  const total = row ? row.amountsMinor.reduce((s, m) => s + BigInt(m), 0n) : 0n;
  const count = row ? row.invoiceCounts.reduce((s, n) => s + n, 0) : 0;
  return (
    <div className="panel chart-panel" data-testid="invoiced-chart">
      <div className="panel-head">
        <strong>{t('invoiced.title')}</strong>
        {currencies.length > 1 && (
          <select aria-label={t('invoiced.currency')} value={row?.currency} onChange={(e) => setChosen(e.target.value)}>
            {currencies.map((c) => (
              <option key={c.currency}>{c.currency}</option>
            ))}
          </select>
        )}
      </div>
      {row && option ? (
        <>
          <p className="figure">
            <span className="num strong">{formatMinor(String(total), row.currency)}</span> <span className="muted">{t('invoiced.total', { n: String(count), environment })}</span>
          </p>
          <Chart option={option} label={t('invoiced.chartLabel', { currency: row.currency })} />
        </>
      ) : (
        <p className="empty-state muted">{t('invoiced.empty')}</p>
      )}
    </div>
  );
}

function UsageChart({ series }: { series: Series }) {
  const { t } = useTranslation('home');
  const [chosen, setChosen] = useState<string>();
  // In the order of the metrics' definition (input tokens first), unknown ones last.
  const usage = useMemo(() => [...series.usage].sort((a, b) => rank(a.metric) - rank(b.metric)), [series]);
  const row = usage.find((u) => u.metric === chosen) ?? usage[0];
  const option = useMemo<ChartOption | undefined>(() => {
    if (!row) return undefined;
    return {
      grid: { left: 8, right: 12, top: 16, bottom: 4, containLabel: true },
      tooltip: {
        trigger: 'axis',
        formatter: (params: unknown) => {
          const i = (Array.isArray(params) ? params[0] : params) as { dataIndex: number };
          return `${series.months[i.dataIndex]}\n${formatQuantity(row.quantities[i.dataIndex])} ${row.metric}`;
        },
      },
      xAxis: {
        type: 'category',
        data: series.months,
        boundaryGap: false,
        axisTick: { show: false },
        axisLine: { lineStyle: { color: '#d0d5dd' } },
        axisLabel: { color: MUTED, fontSize: 11 },
      },
      yAxis: { type: 'value', splitLine: { lineStyle: { color: GRID } }, axisLabel: { color: MUTED, fontSize: 11, formatter: (v: number) => compact(v) } },
      series: [
        {
          type: 'line',
          name: row.metric,
          data: row.quantities.map(Number),
          symbol: 'circle',
          symbolSize: 5,
          lineStyle: { color: ACCENT, width: 2 },
          itemStyle: { color: ACCENT },
          areaStyle: { color: 'rgba(52, 81, 178, 0.08)' },
        },
      ],
    };
  }, [row, series.months]);
  const total = row ? row.quantities.reduce((s, q) => s + BigInt(q), 0n) : 0n;
  return (
    <div className="panel chart-panel" data-testid="usage-chart">
      <div className="panel-head">
        <strong>{t('usage.title')}</strong>
        {usage.length > 0 && (
          <fieldset className="segmented" aria-label={t('usage.metric')}>
            {usage.map((u) => (
              <button key={u.metric} type="button" aria-pressed={u.metric === row?.metric} onClick={() => setChosen(u.metric)}>
                {(USAGE_METRICS as readonly string[]).includes(u.metric) ? t(`usage.metrics.${u.metric as UsageMetric}`) : u.metric}
              </button>
            ))}
          </fieldset>
        )}
      </div>
      {row && option ? (
        <>
          <p className="figure">
            <span className="num strong">{formatQuantity(String(total))}</span> <span className="muted">{t('usage.total', { metric: row.metric })}</span>
          </p>
          <Chart option={option} label={t('usage.chartLabel', { metric: row.metric })} />
        </>
      ) : (
        <p className="empty-state muted">{t('usage.empty')}</p>
      )}
    </div>
  );
}

/**
 * Settlement batches closed and waiting for their two approvals: a card linking to the batch (one)
 * or to the batches (several); how many already have one approval, so the second admin knows.
 */
function AwaitingSettlement({ batches, asOf }: { batches: CommandOutput<'settlement:list'>; asOf: string }) {
  const { t } = useTranslation('home');
  const items = batches.items;
  const clear = items.length === 0;
  const oldest = items.map((b) => b.closedAt).sort()[0];
  const half = items.filter((b) => b.approvals.some((a) => a.current)).length;
  const body = (
    <>
      <span className="count num">
        {items.length}
        {batches.nextCursor ? '+' : ''}
      </span>
      <span className="what">{t('attention.settlement.label')}</span>
      <span className="detail muted">
        {clear ? t('attention.settlement.clear') : t('attention.settlement.oldest', { at: formatInstant(oldest), days: String(daysSince(oldest, asOf)) })}
        {half > 0 && t('attention.settlement.half', { half: String(half) })}
      </span>
      {!clear && <span className="go">{t('attention.settlement.go')} →</span>}
    </>
  );
  return clear ? (
    <div className="attention-card clear" data-kind="settlement_awaiting_approval">
      {body}
    </div>
  ) : (
    <a className="attention-card action" href={items.length === 1 ? `#/settlement/${items[0].id}` : '#/settlement'} data-kind="settlement_awaiting_approval">
      {body}
    </a>
  );
}

type FailingEndpoints = CommandOutput<'webhooks:endpoints'>;

/**
 * Merchant webhook endpoints failing now or disabled for failures (both environments): a card
 * like the others, and under it each endpoint with a link to its failing deliveries.
 */
function FailingWebhooks({ failing, merchants, asOf }: { failing: FailingEndpoints; merchants: ReadonlyArray<{ id: string; name: string }> | undefined; asOf: string }) {
  const { t } = useTranslation('home');
  const { can } = useSession();
  const endpoints = failing.items;
  const since = (e: (typeof endpoints)[number]) => e.failingSince ?? e.disabledAt ?? e.createdAt;
  const oldest = endpoints.map(since).sort()[0];
  const disabled = endpoints.filter((e) => !e.enabled).length;
  const clear = endpoints.length === 0;
  const go = !clear && can('webhooks:deliveries');
  const body = (
    <>
      <span className="count num">
        {endpoints.length}
        {failing.nextCursor ? '+' : ''}
      </span>
      <span className="what">{t('attention.webhooks.label')}</span>
      <span className="detail muted">
        {clear ? t('attention.webhooks.clear') : t('attention.webhooks.oldest', { at: formatInstant(oldest), days: String(daysSince(oldest, asOf)), disabled: String(disabled) })}
      </span>
      {go && <span className="go">{t('attention.webhooks.go')} →</span>}
    </>
  );
  const className = `attention-card ${clear ? 'clear' : 'failure'}`;
  return (
    <>
      {go ? (
        <a className={className} href="#/webhooks/failing" data-kind="webhook_endpoints_failing">
          {body}
        </a>
      ) : (
        <div className={className} data-kind="webhook_endpoints_failing">
          {body}
        </div>
      )}
      {!clear && <FailingEndpointList endpoints={endpoints} merchants={merchants} since={since} />}
    </>
  );
}

function FailingEndpointList({
  endpoints,
  merchants,
  since,
}: {
  endpoints: FailingEndpoints['items'];
  merchants: ReadonlyArray<{ id: string; name: string }> | undefined;
  since: (e: FailingEndpoints['items'][number]) => string;
}) {
  const { t } = useTranslation('home');
  const { can } = useSession();
  const name = (id: string) => merchants?.find((m) => m.id === id)?.name ?? id;
  return (
    <ul className="failing-endpoints" aria-label={t('attention.webhooks.list')}>
      {endpoints.map((e) => (
        <li key={e.id} data-endpoint={e.id}>
          <strong>{name(e.merchantId)}</strong>
          <span className="muted">{e.environment}</span>
          <span className="url" title={e.url}>
            {e.url}
          </span>
          <span className="muted">
            {e.enabled
              ? t('attention.webhooks.since', { at: formatInstant(since(e)) })
              : t('attention.webhooks.disabled', { reason: e.disabledReason ? t(`attention.webhooks.reasons.${e.disabledReason}`) : '' })}
          </span>
          {can('webhooks:deliveries') && <a href={`#/webhooks/failing/${e.id}`}>{t('attention.webhooks.deliveries')}</a>}
        </li>
      ))}
    </ul>
  );
}
