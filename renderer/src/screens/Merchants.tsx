import { createColumnHelper } from '@tanstack/react-table';
import { type ReactNode, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import en from '../i18n/en/merchants';
import { formatBps, formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { useSettled } from '../ui/fields';
import './admin.css';
import { KybStatusPill, Rich } from './Kyb';

type Summary = CommandOutput<'merchants:list'>['items'][number];
type Merchant = CommandOutput<'merchants:show'>;
type ApiKey = Merchant['apiKeys'][number];
type History = CommandOutput<'merchants:destination-history'>;
type Change = History['items'][number];
type Filters = Pick<CommandInput<'merchants:list'>, 'search' | 'status' | 'kybStatus'>;

const MERCHANT_STATUSES = ['active', 'suspended', 'deactivated'] as const;
const KYB_STATUSES = ['not_submitted', 'pending_review', 'info_requested', 'approved', 'rejected'] as const;
const LIST_LIMIT = 500;

function useMerchantWords() {
  const { t } = useTranslation('merchants');
  const { t: tk } = useTranslation('kyb');
  return {
    t,
    status: (s: string) => (s in en.statuses ? t(`statuses.${s as keyof typeof en.statuses}`) : s),
    kybStatus: (s: string) => (s === '' ? '' : tk(`statuses.${s as (typeof KYB_STATUSES)[number]}`)),
    requirement: (r: string) => (r in en.requirements ? t(`requirements.${r as keyof typeof en.requirements}`) : r),
  };
}

function StatusPill({ status }: { status: string }) {
  const { status: label } = useMerchantWords();
  return <span className={`pill ${status}`}>{label(status)}</span>;
}

/** 0x + 40 hex digits → 0x12ab…cdef (the full address on hover). */
export const shortAddress = (a: string) => (a.length > 16 ? `${a.slice(0, 8)}…${a.slice(-6)}` : a);

const openMerchant = (id: string) => {
  window.location.hash = `#/merchants/${encodeURIComponent(id)}`;
};

export function MerchantsScreen() {
  const { t, kybStatus } = useMerchantWords();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<Filters['status']>();
  const [kyb, setKyb] = useState<Filters['kybStatus']>();
  const term = useSettled(search.trim(), 250);
  const filters: CommandInput<'merchants:list'> = { limit: LIST_LIMIT, ...(term ? { search: term } : {}), ...(status ? { status } : {}), ...(kyb ? { kybStatus: kyb } : {}) };
  const list = useCommand('merchants:list', filters);

  const col = createColumnHelper<Summary>();
  const columns = [
    col.accessor('name', {
      header: t('columns.name'),
      cell: (c) => (
        <a href={`#/merchants/${encodeURIComponent(c.row.original.id)}`} onClick={(e) => e.stopPropagation()}>
          {c.getValue()}
        </a>
      ),
    }),
    col.accessor('email', { header: t('columns.email') }),
    col.accessor('status', { header: t('columns.status'), cell: (c) => <StatusPill status={c.getValue()} /> }),
    col.accessor('kybStatus', { header: t('columns.kyb'), cell: (c) => <KybStatusPill status={c.getValue()} /> }),
    col.accessor('serviceFeeBps', { header: t('columns.fee'), meta: { numeric: true }, cell: (c) => formatBps(c.getValue()) }),
    col.accessor('createdAt', { header: t('columns.created'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor('id', { header: t('columns.id'), cell: (c) => <code className="code">{c.getValue()}</code> }),
  ];

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <search className="toolbar" aria-label={t('filters')}>
        <label className="field">
          <span>{t('search')}</span>
          <input name="search" type="search" size={32} placeholder={t('searchPlaceholder')} value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('status')}</span>
          <select name="status" value={status ?? ''} onChange={(e) => setStatus((e.target.value || undefined) as Filters['status'])}>
            <option value="">{t('any')}</option>
            {MERCHANT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`statuses.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('kybStatus')}</span>
          <select name="kybStatus" value={kyb ?? ''} onChange={(e) => setKyb((e.target.value || undefined) as Filters['kybStatus'])}>
            <option value="">{t('any')}</option>
            {KYB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {kybStatus(s)}
              </option>
            ))}
          </select>
        </label>
      </search>
      <ErrorNote error={list.error} />
      {list.data ? (
        <>
          <DataTable label={t('table')} data={list.data.items} columns={columns} rowId={(m) => m.id} onRowClick={(m) => openMerchant(m.id)} empty={t('empty')} />
          {list.data.items.length >= LIST_LIMIT && <p className="fine-print">{t('capped', { count: LIST_LIMIT })}</p>}
        </>
      ) : (
        <Loading what={t('loadingList')} />
      )}
    </section>
  );
}

type Acting = 'fee' | 'suspend' | 'reactivate';

export function MerchantDetail({ merchantId }: { merchantId: string }) {
  const { can } = useSession();
  const { t, requirement } = useMerchantWords();
  const shown = useCommand('merchants:show', { merchant: merchantId });
  const [acting, setActing] = useState<Acting>();
  const [done, setDone] = useState<string>();
  const [generation, setGeneration] = useState(0);
  const m = shown.data;

  const finished = (message: string) => {
    setDone(message);
    setActing(undefined);
    setGeneration((g) => g + 1);
    shown.reload();
  };

  const keyCol = createColumnHelper<ApiKey>();
  const keyColumns = [
    keyCol.accessor('environment', { header: t('keys.environment') }),
    keyCol.accessor('prefix', { header: t('keys.prefix'), cell: (c) => <code className="code">{c.getValue()}…</code> }),
    keyCol.accessor((k) => k.scopes.join(', '), { id: 'scopes', header: t('keys.scopes'), enableSorting: false }),
    keyCol.accessor('createdAt', { header: t('keys.created'), cell: (c) => formatInstant(c.getValue()) }),
    keyCol.accessor('lastRotatedAt', { header: t('keys.rotated'), cell: (c) => (c.getValue() ? formatInstant(c.getValue()) : t('keys.never')) }),
  ];

  return (
    <section>
      <p className="crumbs">
        <a href="#/merchants">{t('back')}</a>
      </p>
      <ErrorNote error={shown.error} />
      {!m && !shown.error && <Loading what={t('loadingOne')} />}
      {m && (
        <>
          <header className="screen-head">
            <h1>
              {m.name} <StatusPill status={m.status} />
            </h1>
            <span className="row-actions">
              {can('merchants:set-fee') && m.status !== 'deactivated' && (
                <button type="button" onClick={() => setActing('fee')}>
                  {t('actions.setFee')}
                </button>
              )}
              {can('merchants:suspend') && m.status === 'active' && (
                <button type="button" className="danger-text" onClick={() => setActing('suspend')}>
                  {t('actions.suspend')}
                </button>
              )}
              {can('merchants:reactivate') && m.status === 'suspended' && (
                <button type="button" onClick={() => setActing('reactivate')}>
                  {t('actions.reactivate')}
                </button>
              )}
            </span>
          </header>
          {done && <Notice>{done}</Notice>}
          {m.status === 'suspended' && (
            <div className="banner danger" data-testid="suspended-banner">
              <div>{t('suspendedBanner')}</div>
              {can('audit:list') && <LastSuspension merchantId={m.id} generation={generation} />}
            </div>
          )}
          <dl className="facts wide" aria-label={t('facts.label')}>
            <dt>{t('facts.id')}</dt>
            <dd className="mono">{m.id}</dd>
            <dt>{t('facts.fee')}</dt>
            <dd className="num-left" data-testid="service-fee">
              {t('facts.feeValue', { percent: formatBps(m.serviceFeeBps), bps: String(m.serviceFeeBps) })}
            </dd>
            <dt>{t('facts.email')}</dt>
            <dd>{m.email}</dd>
            <dt>{t('facts.liveAccess')}</dt>
            <dd>{m.liveAccess.unlocked ? t('facts.unlocked') : t('facts.lockedMissing', { missing: m.liveAccess.missing.map(requirement).join(', ') })}</dd>
            <dt>{t('facts.kyb')}</dt>
            <dd>
              <KybStatusPill status={m.kybStatus} /> {m.kybStatus !== 'not_submitted' && can('kyb:show') && <a href={`#/kyb/${encodeURIComponent(m.id)}`}>{t('actions.kyb')}</a>}
            </dd>
            <dt>{t('facts.twoFactor')}</dt>
            <dd>{m.twoFactorEnabled ? t('facts.on') : t('facts.off')}</dd>
            <dt>{t('facts.settlementCurrency')}</dt>
            <dd>{m.settlementCurrency ?? t('facts.notSet')}</dd>
            <dt>{t('facts.webhook')}</dt>
            <dd className="mono">{m.webhookUrl ?? '—'}</dd>
            <dt>{t('facts.onChain')}</dt>
            <dd>
              {m.onChainMerchantId ? (
                <>
                  <span className="mono">{m.onChainMerchantId}</span> ({m.chainActive ? t('facts.chainActive') : t('facts.chainInactive')})
                </>
              ) : (
                '—'
              )}
            </dd>
            <dt>{t('facts.created')}</dt>
            <dd>{formatInstant(m.createdAt)}</dd>
          </dl>
          <div className="two-col">
            <div>
              <h2>{t('keys.title')}</h2>
              <DataTable label={t('keys.table')} data={m.apiKeys} columns={keyColumns} rowId={(k) => `${k.environment}:${k.prefix}`} empty={t('keys.empty')} />
              <p className="fine-print">{t('keys.note')}</p>
            </div>
            <div>
              <h2>{t('destinations.title')}</h2>
              <div className="panel">
                <dl className="kv">
                  <dt>{t('destinations.addresses')}</dt>
                  <dd>
                    <AddressList addresses={m.receivingAddresses} empty={t('destinations.noAddresses')} />
                  </dd>
                  <dt>{t('destinations.bank')}</dt>
                  <dd>{m.bankAccount ? <BankAccount value={m.bankAccount} /> : t('destinations.noBank')}</dd>
                  <dt>{t('facts.settlementCurrency')}</dt>
                  <dd>{m.settlementCurrency ?? t('facts.notSet')}</dd>
                </dl>
              </div>
              <p className="fine-print">{t('destinations.maskedNote')}</p>
            </div>
          </div>
          {can('merchants:destination-history') && <DestinationHistory merchantId={m.id} />}
          {can('audit:list') && (
            <p>
              <a href={`#/audit/${encodeURIComponent(m.id)}`}>{t('actions.audit')}</a>
            </p>
          )}
          {acting === 'fee' && <SetFeeDialog merchant={m} onDone={finished} onCancel={() => setActing(undefined)} />}
          {(acting === 'suspend' || acting === 'reactivate') && <StatusDialog kind={acting} merchant={m} onDone={finished} onCancel={() => setActing(undefined)} />}
        </>
      )}
    </section>
  );
}

function AddressList({ addresses, empty }: { addresses: unknown; empty: string }) {
  const entries = addresses && typeof addresses === 'object' ? Object.entries(addresses as Record<string, unknown>) : [];
  if (entries.length === 0) return <span className="muted">{empty}</span>;
  return (
    <span className="change-value">
      {entries.map(([chain, address]) => (
        <span key={chain}>
          {chain}:{' '}
          <code className="code" title={String(address)}>
            {shortAddress(String(address))}
          </code>
        </span>
      ))}
    </span>
  );
}

/** A bank account as core keeps it: masked (holder, bank, ••••last four, SWIFT/CNAPS, currency). */
function BankAccount({ value }: { value: unknown }) {
  const b = (value ?? {}) as Record<string, string | null | undefined>;
  return (
    <span className="change-value">
      <span>
        {b.holderName} · {b.bankName}
      </span>
      <span>
        <code className="code">{b.accountNumberMasked}</code>
        {b.swiftBic ? ` · SWIFT ${b.swiftBic}` : ''}
        {b.cnapsCode ? ` · CNAPS ${b.cnapsCode}` : ''} · {b.currency}
      </span>
    </span>
  );
}

function ChangeValue({ field, value }: { field: Change['field']; value: unknown }) {
  const { t } = useMerchantWords();
  if (value === null || value === undefined) return <span className="muted">{t('history.notSet')}</span>;
  if (field === 'receivingAddresses') return <AddressList addresses={value} empty={t('history.none')} />;
  if (field === 'bankAccount') return <BankAccount value={value} />;
  return <>{String(value)}</>;
}

function DestinationHistory({ merchantId }: { merchantId: string }) {
  const { run } = useSession();
  const { t } = useMerchantWords();
  const first = useCommand('merchants:destination-history', { merchant: merchantId, limit: 50 });
  const [older, setOlder] = useState<{ items: Change[]; nextCursor: string | null }>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<BridgeError>();
  const h = first.data;
  const items = [...(h?.items ?? []), ...(older?.items ?? [])];
  const nextCursor = older ? older.nextCursor : (h?.nextCursor ?? null);

  const loadMore = async () => {
    if (!nextCursor) return;
    setLoadingMore(true);
    const r = await run('merchants:destination-history', { merchant: merchantId, limit: 50, cursor: nextCursor });
    setLoadingMore(false);
    if (!r.ok) return setError(r.error);
    setOlder({ items: [...(older?.items ?? []), ...r.data.items], nextCursor: r.data.nextCursor });
  };

  const col = createColumnHelper<Change>();
  const columns = [
    col.accessor('changedAt', { header: t('history.when'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor('field', { header: t('history.field'), cell: (c) => t(`history.fields.${c.getValue()}`) }),
    col.display({ id: 'before', header: t('history.before'), cell: (c) => <ChangeValue field={c.row.original.field} value={c.row.original.before} /> }),
    col.display({ id: 'after', header: t('history.after'), cell: (c) => <ChangeValue field={c.row.original.field} value={c.row.original.after} /> }),
    col.accessor('credential', {
      header: t('history.by'),
      cell: (c) =>
        c.getValue() === 'api_key'
          ? t('history.credentials.api_key', { prefix: c.row.original.apiKeyPrefix ?? c.row.original.apiKeyId ?? '' })
          : c.getValue() in en.history.credentials
            ? t(`history.credentials.${c.getValue() as 'jwt' | 'signup' | 'chain'}`)
            : c.getValue(),
    }),
  ];

  let hold: ReactNode = null;
  if (h) {
    hold = h.coolingOff ? (
      <div className="banner" data-testid="cooling-off">
        {t('history.coolingOff', { until: formatInstant(h.holdUntil), at: formatInstant(h.changedAt) })}
      </div>
    ) : (
      <p className="muted" data-testid="cooling-off">
        {h.changedAt ? t('history.lastChange', { at: formatInstant(h.changedAt) }) : t('history.neverChanged')}
      </p>
    );
  }

  return (
    <>
      <h2>{t('history.title')}</h2>
      <ErrorNote error={first.error ?? error} />
      {hold}
      {h ? (
        <>
          <DataTable label={t('history.table')} data={items} columns={columns} rowId={(c) => c.id} empty={t('history.empty')} />
          {nextCursor && (
            <div className="more">
              <button type="button" onClick={loadMore} disabled={loadingMore}>
                {loadingMore ? t('history.loadingMore') : t('history.more')}
              </button>
            </div>
          )}
        </>
      ) : (
        !first.error && <Loading what={t('history.title')} />
      )}
    </>
  );
}

/** Why and by whom the merchant was last suspended, from the audit log (admins and finance read it). */
function LastSuspension({ merchantId, generation, className }: { merchantId: string; generation: number; className?: string }) {
  const { t } = useMerchantWords();
  const entries = useCommand('audit:list', { touching: merchantId, command: 'merchants:suspend', limit: 20 });
  const { reload } = entries;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload after a change made on this page
  useEffect(() => {
    if (generation) reload();
  }, [generation]);
  const last = entries.data?.items.find((e) => e.outcome === 'ok');
  if (!last) return null;
  const reason = String((last.input as { reason?: unknown } | null)?.reason ?? '').trim();
  const who = last.actor.email ?? last.actor.staffId ?? '—';
  return (
    <div className={className} data-testid="last-suspension">
      {reason ? t('lastSuspension', { at: formatInstant(last.at), who, reason }) : t('lastSuspensionNoReason', { at: formatInstant(last.at), who })}
    </div>
  );
}

const BPS = /^\d{1,5}$/;

function SetFeeDialog({ merchant, onDone, onCancel }: { merchant: Merchant; onDone: (message: string) => void; onCancel: () => void }) {
  const { run } = useSession();
  const { t } = useMerchantWords();
  const [value, setValue] = useState('');
  const bps = BPS.test(value) ? Number(value) : undefined;
  const valid = bps !== undefined && bps <= 10_000;
  const same = bps === merchant.serviceFeeBps;
  const from = formatBps(merchant.serviceFeeBps);
  return (
    <ConfirmDialog
      title={t('setFee.title', { merchant: merchant.name })}
      consequence={
        bps !== undefined && valid && !same ? (
          <p>
            <Rich text={t('setFee.consequence', { merchant: merchant.name, from, fromBps: String(merchant.serviceFeeBps), to: formatBps(bps), toBps: String(bps) })} />
          </p>
        ) : (
          <p className="muted">{t('setFee.consequenceEmpty')}</p>
        )
      }
      confirmLabel={t('setFee.confirm')}
      stepUp={BRIDGE_COMMANDS['merchants:set-fee'].stepUp}
      ready={valid && !same}
      run={(otp) => run('merchants:set-fee', { merchant: merchant.id, bps: bps ?? -1 }, { otp })}
      onDone={(r) => {
        const d = r.data as CommandOutput<'merchants:set-fee'>;
        onDone(t('setFee.done', { merchant: merchant.name, to: formatBps(d.serviceFeeBps), from: formatBps(d.previousServiceFeeBps) }));
      }}
      onCancel={onCancel}
    >
      <label className="field">
        <span>{t('setFee.field')}</span>
        <input
          name="bps"
          inputMode="numeric"
          autoComplete="off"
          maxLength={5}
          value={value}
          aria-invalid={value !== '' && !valid}
          onChange={(e) => setValue(e.target.value.replace(/\D/g, ''))}
        />
        {value !== '' &&
          (bps !== undefined && valid ? (
            <span className="bps-preview">{same ? t('setFee.same') : t('setFee.preview', { percent: formatBps(bps) })}</span>
          ) : (
            <span className="invalid">{t('setFee.invalid')}</span>
          ))}
      </label>
    </ConfirmDialog>
  );
}

function StatusDialog({ kind, merchant, onDone, onCancel }: { kind: 'suspend' | 'reactivate'; merchant: Merchant; onDone: (message: string) => void; onCancel: () => void }) {
  const { run, can } = useSession();
  const { t } = useMerchantWords();
  const [reason, setReason] = useState('');
  const who = { merchant: merchant.name };
  const words =
    kind === 'suspend'
      ? { title: t('suspend.title', who), consequence: t('suspend.consequence', who), reason: t('suspend.reason'), confirm: t('suspend.confirm'), done: t('suspend.done', who) }
      : {
          title: t('reactivate.title', who),
          consequence: t('reactivate.consequence', who),
          reason: t('reactivate.reason'),
          confirm: t('reactivate.confirm'),
          done: t('reactivate.done', who),
        };
  return (
    <ConfirmDialog
      title={words.title}
      tone={kind === 'suspend' ? 'danger' : 'normal'}
      consequence={
        <>
          <p>
            <Rich text={words.consequence} />
          </p>
          {kind === 'reactivate' && can('audit:list') && <LastSuspension merchantId={merchant.id} generation={0} className="banner danger in-dialog" />}
        </>
      }
      confirmLabel={words.confirm}
      stepUp={BRIDGE_COMMANDS[`merchants:${kind}`].stepUp}
      ready={reason.trim().length >= 3}
      run={(otp) =>
        kind === 'suspend' ? run('merchants:suspend', { merchant: merchant.id, reason }, { otp }) : run('merchants:reactivate', { merchant: merchant.id, reason }, { otp })
      }
      onDone={() => onDone(words.done)}
      onCancel={onCancel}
    >
      <label className="field">
        <span>{words.reason}</span>
        <textarea name="reason" rows={3} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}
