import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { SelectField } from '../ui/fields';
import { PagedTable } from '../ui/PagedTable';
import { useAllPages } from '../ui/useAllPages';
import './finance.css';
import './chain.css';

/**
 * #/chain: on-chain registration (issue 16). Per chain, how far the chain listener has read
 * (cursor), the chain's head and the finalized (or head − confirmations) block it may read to, and
 * the lag; below, the SubscriptionManager events it could not match to a merchant, with staff's
 * reviews (admin records one: dismissed, or matched by hand to a merchant).
 */

type ChainRow = CommandOutput<'chain:status'>['chains'][number];
type Unmatched = CommandOutput<'chain:unmatched'>['items'][number];
type State = 'open' | 'reviewed' | 'all';
const PAGES = { firstPageSize: 100, pageSize: 500 };
const num = (n: number | null) => (n === null ? '—' : n.toLocaleString('en-US'));

export function ChainScreen() {
  const { t } = useTranslation('chain');
  const status = useCommand('chain:status', {});
  return (
    <section className="chain">
      <header className="screen-head">
        <h1>{t('title')}</h1>
        <button type="button" onClick={status.reload} disabled={status.loading}>
          {t('refresh')}
        </button>
      </header>
      <p className="muted lede">{t('explain')}</p>
      <h2>{t('status.title')}</h2>
      <ErrorNote error={status.error} />
      {status.data ? (
        <>
          {!status.data.configKnown && <Notice>{t('status.configUnknown')}</Notice>}
          <div className="chain-cards" data-testid="chain-status">
            {status.data.chains.map((c) => (
              <ChainCard key={`${c.chainId}:${c.contract ?? ''}`} chain={c} />
            ))}
          </div>
        </>
      ) : (
        !status.error && <Loading what={t('loading.status')} />
      )}
      <UnmatchedRegistrations />
    </section>
  );
}

function ChainCard({ chain: c }: { chain: ChainRow }) {
  const { t } = useTranslation('chain');
  const behind = c.lagBlocks !== null && c.lagBlocks > 0;
  return (
    <article className="chain-card" aria-label={t('status.card', { name: c.name, chain: String(c.chainId) })}>
      <header>
        <strong>{c.name}</strong> <span className="muted num">#{c.chainId}</span>{' '}
        <span className={`pill ${c.configured ? 'paid' : ''}`}>{c.configured ? t('status.listening') : t('status.notConfigured')}</span>
        {c.unmatchedOpen > 0 && <span className="pill payment_pending">{t('status.unmatchedOpen', { count: c.unmatchedOpen })}</span>}
      </header>
      <dl className="facts chain-facts">
        <dt>{t('status.contract')}</dt>
        <dd>{c.contract ? <code className="id">{c.contract}</code> : <span className="muted">{t('status.noContract')}</span>}</dd>
        <dt>{t('status.cursor')}</dt>
        <dd data-testid="chain-cursor">
          {c.nextBlock === null ? <span className="muted">{t('status.neverRead')}</span> : t('status.cursorValue', { last: num(c.nextBlock - 1), next: num(c.nextBlock) })}
        </dd>
        <dt>{t('status.head')}</dt>
        <dd>{num(c.head)}</dd>
        <dt>{c.safeRule === 'finalized' ? t('status.finalized') : t('status.confirmed', { count: c.confirmations ?? 0 })}</dt>
        <dd>{num(c.safe)}</dd>
        <dt>{t('status.lag')}</dt>
        <dd className={behind ? 'warn-text' : undefined} data-testid="chain-lag">
          {c.lagBlocks === null ? '—' : t('status.lagValue', { count: c.lagBlocks })}
        </dd>
        <dt>{t('status.source')}</dt>
        <dd className="muted">{c.live ? t('status.live') : c.updatedAt ? t('status.recorded', { at: formatInstant(c.updatedAt) }) : '—'}</dd>
        {c.rpcError && (
          <>
            <dt>{t('status.rpcError')}</dt>
            <dd className="error-text clip" title={c.rpcError}>
              {c.rpcError}
            </dd>
          </>
        )}
        {c.lastError && (
          <>
            <dt>{t('status.lastError')}</dt>
            <dd className="error-text clip" title={c.lastError}>
              {c.lastError}
            </dd>
          </>
        )}
      </dl>
    </article>
  );
}

function UnmatchedRegistrations() {
  const { t } = useTranslation('chain');
  const { run, can } = useSession();
  const [state, setState] = useState<State>('open');
  const list = useAllPages('chain:unmatched', { state }, PAGES);
  const [reviewing, setReviewing] = useState<Unmatched>();
  const [done, setDone] = useState<string>();
  const canReview = can('chain:review');
  const columns = useMemo(() => {
    const col = createColumnHelper<Unmatched>();
    return [
      col.accessor('blockTime', { header: t('unmatched.columns.time'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
      col.accessor('chainId', { header: t('unmatched.columns.chain'), meta: { exportOnly: true } }),
      col.accessor('event', { header: t('unmatched.columns.event'), cell: (c) => <code className="id">{c.getValue()}</code> }),
      col.accessor((u) => u.onChainMerchantId ?? '', { id: 'onChainId', header: t('unmatched.columns.onChainId'), meta: { numeric: true } }),
      col.accessor((u) => argsText(u.args), {
        id: 'args',
        header: t('unmatched.columns.args'),
        cell: (c) => <Args args={{ ...c.row.original.args, [t('unmatched.columns.tx')]: `${c.row.original.txHash} #${c.row.original.logIndex}` }} />,
      }),
      col.accessor('txHash', { header: t('unmatched.columns.tx'), meta: { exportOnly: true } }),
      col.accessor('blockNumber', {
        header: t('unmatched.columns.block'),
        meta: { numeric: true },
        cell: (c) => (
          <span title={t('unmatched.onChain', { chain: String(c.row.original.chainId) })}>
            {c.getValue()} <span className="muted">#{c.row.original.chainId}</span>
          </span>
        ),
      }),
      col.accessor((u) => u.detail ?? '', {
        id: 'detail',
        header: t('unmatched.columns.detail'),
        cell: (c) => <span className="chain-detail">{c.getValue()}</span>,
      }),
      col.accessor((u) => (u.review ? u.review.resolution : 'open'), {
        id: 'review',
        header: t('unmatched.columns.review'),
        meta: { exportOnly: true },
      }),
      // The review state and the action share the last column, which stays in view (sticky) however
      // wide the arguments make the table.
      col.display({
        id: 'actions',
        header: t('unmatched.columns.review'),
        cell: (c) => (
          <span className="row-actions">
            <ReviewState row={c.row.original} />
            {canReview && !c.row.original.review && (
              <button type="button" className="small" onClick={() => setReviewing(c.row.original)}>
                {t('unmatched.review')}
              </button>
            )}
          </span>
        ),
      }),
    ];
  }, [t, canReview]);
  return (
    <>
      <h2>{t('unmatched.title')}</h2>
      <p className="muted lede">{t('unmatched.explain')}</p>
      <search className="toolbar" aria-label={t('unmatched.filters')}>
        <SelectField
          name="reviewState"
          label={t('unmatched.state')}
          value={state}
          onChange={(v) => setState((v as State | undefined) ?? 'all')}
          choices={(['open', 'reviewed', 'all'] as const).map((s) => ({ value: s, label: t(`unmatched.states.${s}`) }))}
        />
      </search>
      {done && <Notice>{done}</Notice>}
      <PagedTable
        list={list}
        className="payments-table chain-table"
        label={t('unmatched.table')}
        columns={columns}
        rowId={(u) => u.id}
        empty={t('unmatched.empty')}
        loadingWhat={t('loading.unmatched')}
      />
      {reviewing && (
        <ReviewDialog
          log={reviewing}
          run={run}
          onDone={(message) => {
            setDone(message);
            setReviewing(undefined);
            list.reload();
          }}
          onCancel={() => setReviewing(undefined)}
        />
      )}
    </>
  );
}

function argsText(args: Record<string, unknown>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

function Args({ args }: { args: Record<string, unknown> }) {
  return (
    <dl className="chain-args">
      {Object.entries(args)
        // the merchant id has a column of its own
        .filter(([k]) => k !== 'merchantId')
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              <code className="id clip" title={String(v)}>
                {String(v)}
              </code>
            </dd>
          </div>
        ))}
    </dl>
  );
}

function ReviewState({ row }: { row: Unmatched }) {
  const { t } = useTranslation('chain');
  if (!row.review) return <span className="pill payment_pending">{t('unmatched.states.open')}</span>;
  const r = row.review;
  const title = [r.note, r.staffEmail, formatInstant(r.createdAt)].filter(Boolean).join(' — ');
  return (
    <span title={title}>
      <span className="pill paid">{t(`unmatched.resolutions.${r.resolution}`)}</span>
      {r.merchantId && <span className="muted"> {r.merchantId}</span>}
    </span>
  );
}

function ReviewDialog({ log, run, onDone, onCancel }: { log: Unmatched; run: ReturnType<typeof useSession>['run']; onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('chain');
  const [resolution, setResolution] = useState<'dismissed' | 'matched'>('dismissed');
  const [merchant, setMerchant] = useState<string>();
  const [note, setNote] = useState('');
  const merchants = useCommand('merchants:list', { limit: 500 }).data?.items ?? [];
  const ready = note.trim().length >= 3 && (resolution === 'dismissed' || merchant !== undefined);
  return (
    <ConfirmDialog
      title={t('reviewDialog.title', { id: log.onChainMerchantId ?? '?' })}
      consequence={<p>{t('reviewDialog.consequence')}</p>}
      confirmLabel={t('reviewDialog.confirm')}
      stepUp={BRIDGE_COMMANDS['chain:review'].stepUp}
      ready={ready}
      run={(otp) => run('chain:review', { log: log.id, resolution, ...(resolution === 'matched' ? { merchant } : {}), note: note.trim() }, { otp })}
      onDone={() => onDone(t('reviewDialog.done', { id: log.onChainMerchantId ?? log.id }))}
      onCancel={onCancel}
    >
      <SelectField
        name="resolution"
        label={t('reviewDialog.resolution')}
        value={resolution}
        onChange={(v) => setResolution((v as 'dismissed' | 'matched' | undefined) ?? 'dismissed')}
        choices={(['dismissed', 'matched'] as const).map((r) => ({ value: r, label: t(`unmatched.resolutions.${r}`) }))}
      />
      {resolution === 'matched' && (
        <SelectField
          name="merchant"
          label={t('reviewDialog.merchant')}
          any={t('reviewDialog.chooseMerchant')}
          value={merchant}
          onChange={setMerchant}
          choices={merchants.map((m) => ({ value: m.id, label: `${m.name} (${m.email})` }))}
        />
      )}
      <label className="field">
        <span>{t('reviewDialog.note')}</span>
        <textarea name="note" rows={3} placeholder={t('reviewDialog.notePlaceholder')} value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}
