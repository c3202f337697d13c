import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant, formatMinor } from '../money';
import { DataTable, compareMinor } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import { EnvironmentField, SelectField } from '../ui/fields';
import { TabLinks, useHashParts } from './finance-parts';
import './finance.css';

type Balance = CommandOutput<'ledger:balances'>['items'][number];
type Account = CommandOutput<'ledger:accounts'>['items'][number];
type Tx = CommandOutput<'ledger:transactions'>['items'][number];
type TxView = CommandOutput<'ledger:show'>;
type Entry = TxView['entries'][number];
type Verified = CommandOutput<'ledger:verify'>;
type Tab = 'balances' | 'accounts' | 'transactions';
const ACCOUNT_TYPES = ['receivable', 'channel_clearing', 'merchant_payable', 'platform_fee_revenue', 'fx_position', 'fx_gain_loss', 'payout_clearing', 'bank'] as const;
type AccountType = (typeof ACCOUNT_TYPES)[number];
type AccountFilters = Pick<CommandInput<'ledger:balances'>, 'environment' | 'type' | 'currency'>;

/**
 * The ledger explorer: balances (#/ledger), the chart of accounts (#/ledger/accounts), the
 * transactions (#/ledger/transactions, one at #/ledger/tx/<id>), and verify on every tab.
 */
export function LedgerScreen() {
  const { t } = useTranslation('ledger');
  const { run, can } = useSession();
  const parts = useHashParts();
  const [verifying, setVerifying] = useState(false);
  const [verified, setVerified] = useState<Verified>();
  const [verifyError, setVerifyError] = useState<BridgeError>();
  const tab: Tab = parts[1] === 'accounts' ? 'accounts' : parts[1] === 'transactions' || parts[1] === 'tx' ? 'transactions' : 'balances';

  const verify = async () => {
    setVerifying(true);
    setVerifyError(undefined);
    const r = await run('ledger:verify', {});
    setVerifying(false);
    if (r.ok) setVerified(r.data);
    else {
      setVerified(undefined);
      setVerifyError(r.error);
    }
  };

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
        {can('ledger:verify') && (
          <button type="button" onClick={verify} disabled={verifying}>
            {verifying ? t('verify.running') : t('verify.button')}
          </button>
        )}
      </header>
      {verified && (
        <Notice>
          {t('verify.intact', { entries: verified.entries.toLocaleString('en-US'), transactions: verified.transactions.toLocaleString('en-US') })}{' '}
          {Object.entries(verified.totals)
            .map(([currency, x]) => t('verify.total', { currency, debits: formatMinor(x.debitsMinor, currency), credits: formatMinor(x.creditsMinor, currency) }))
            .join('; ') || t('verify.noEntries')}
          . {t('verify.head')} <code className="code">{verified.headHash.slice(0, 16)}…</code>
        </Notice>
      )}
      <ErrorNote error={verifyError} />
      <TabLinks
        label={t('tabs.label')}
        current={tab}
        tabs={[
          { id: 'balances', href: '#/ledger', text: t('tabs.balances') },
          { id: 'accounts', href: '#/ledger/accounts', text: t('tabs.accounts') },
          { id: 'transactions', href: '#/ledger/transactions', text: t('tabs.transactions') },
        ]}
      />
      {tab === 'balances' && <Balances />}
      {tab === 'accounts' && <Accounts />}
      {tab === 'transactions' && (parts[1] === 'tx' && parts[2] ? <Transaction id={parts[2]} /> : <Transactions />)}
    </section>
  );
}

function AccountFilterBar({ filters, onChange, label }: { filters: AccountFilters; onChange: (f: AccountFilters) => void; label: string }) {
  const { t } = useTranslation('ledger');
  const set = (patch: Partial<AccountFilters>) => onChange(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as AccountFilters);
  return (
    <search className="toolbar" aria-label={label}>
      <SelectField
        name="type"
        label={t('filters.type')}
        any={t('filters.anyType')}
        value={filters.type}
        onChange={(v) => set({ type: v as AccountType | undefined })}
        choices={ACCOUNT_TYPES.map((k) => ({ value: k, label: t(`types.${k}`) }))}
      />
      <EnvironmentField
        name="environment"
        label={t('filters.environment')}
        any={t('filters.bothEnvironments')}
        value={filters.environment}
        onChange={(v) => set({ environment: v })}
      />
      <label className="field">
        <span>{t('filters.currency')}</span>
        <input
          name="currency"
          placeholder="CNY"
          maxLength={4}
          value={filters.currency ?? ''}
          onChange={(e) => set({ currency: /^[A-Za-z]{3,4}$/.test(e.target.value) ? e.target.value.toUpperCase() : undefined })}
        />
      </label>
    </search>
  );
}

const typeLabel = (t: (k: `types.${AccountType}`) => string, type: string) =>
  (ACCOUNT_TYPES as readonly string[]).includes(type) ? t(`types.${type as AccountType}`) : type.replaceAll('_', ' ');

function Balances() {
  const { t } = useTranslation('ledger');
  const [filters, setFilters] = useState<AccountFilters>({});
  const balances = useCommand('ledger:balances', filters);
  const col = createColumnHelper<Balance>();
  const columns = [
    col.accessor('code', { header: t('columns.account'), cell: (c) => <code className="id">{c.getValue()}</code> }),
    col.accessor('type', { header: t('columns.type'), cell: (c) => typeLabel(t, c.getValue()) }),
    col.accessor('environment', { header: t('columns.environment') }),
    col.accessor('currency', { header: t('columns.currency') }),
    col.accessor('debitsMinor', {
      header: t('columns.debits'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.debitsMinor, b.original.debitsMinor),
      cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
    }),
    col.accessor('creditsMinor', {
      header: t('columns.credits'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.creditsMinor, b.original.creditsMinor),
      cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
    }),
    col.accessor('balanceMinor', {
      header: t('columns.balance'),
      meta: { numeric: true },
      sortingFn: (a, b) => compareMinor(a.original.balanceMinor, b.original.balanceMinor),
      // The balance is signed against the account's normal side; shown as an amount with the side
      // it actually stands on (a debit-normal account in credit reads "588.89 CNY Cr", not "−588.89 Dr").
      cell: (c) => {
        const v = c.getValue();
        const negative = v.startsWith('-');
        const debit = (c.row.original.normalSide === 'debit') !== negative;
        return `${formatMinor(negative ? v.slice(1) : v, c.row.original.currency)} ${debit ? t('dr') : t('cr')}`;
      },
    }),
  ];
  return (
    <>
      <AccountFilterBar filters={filters} onChange={setFilters} label={t('filters.balances')} />
      <ErrorNote error={balances.error} />
      {balances.data ? (
        <DataTable
          label={t('balancesTable')}
          data={balances.data.items}
          columns={columns}
          rowId={(b) => b.id}
          onRowClick={(b) => {
            window.location.hash = `#/ledger/transactions?account=${encodeURIComponent(b.code)}`;
          }}
          empty={t('emptyAccounts')}
        />
      ) : (
        <Loading what={t('loading.balances')} />
      )}
    </>
  );
}

function Accounts() {
  const { t } = useTranslation('ledger');
  const [filters, setFilters] = useState<AccountFilters>({});
  const accounts = useCommand('ledger:accounts', filters);
  const col = createColumnHelper<Account>();
  const columns = [
    col.accessor('code', { header: t('columns.code'), cell: (c) => <code className="id">{c.getValue()}</code> }),
    col.accessor('type', { header: t('columns.type'), cell: (c) => typeLabel(t, c.getValue()) }),
    col.accessor('normalSide', { header: t('columns.normalSide'), cell: (c) => t(`sides.${c.getValue()}`) }),
    col.accessor('merchantId', { header: t('columns.owner'), cell: (c) => c.getValue() ?? c.row.original.channel ?? t('platform') }),
    col.accessor('environment', { header: t('columns.environment') }),
    col.accessor('currency', { header: t('columns.currency') }),
    col.accessor('createdAt', { header: t('columns.opened'), cell: (c) => formatInstant(c.getValue()) }),
  ];
  return (
    <>
      <AccountFilterBar filters={filters} onChange={setFilters} label={t('filters.accounts')} />
      <ErrorNote error={accounts.error} />
      {accounts.data ? (
        <DataTable
          label={t('accountsTable')}
          data={accounts.data.items}
          columns={columns}
          rowId={(a) => a.id}
          onRowClick={(a) => {
            window.location.hash = `#/ledger/transactions?account=${encodeURIComponent(a.code)}`;
          }}
          empty={t('emptyAccounts')}
        />
      ) : (
        <Loading what={t('loading.accounts')} />
      )}
    </>
  );
}

type TxFilters = Pick<CommandInput<'ledger:transactions'>, 'cause' | 'kind' | 'environment' | 'account'>;

/** Filters carried in the hash's query (#/ledger/transactions?account=…), so an account row links here. */
function filtersFromHash(): TxFilters {
  const query = window.location.hash.split('?')[1] ?? '';
  const params = new URLSearchParams(query);
  return Object.fromEntries(['cause', 'kind', 'environment', 'account'].flatMap((k) => (params.get(k) ? [[k, params.get(k)]] : []))) as TxFilters;
}

function Transactions() {
  const { t } = useTranslation('ledger');
  const [filters, setFilters] = useState<TxFilters>(filtersFromHash);
  const [draftCause, setDraftCause] = useState(filters.cause ?? '');
  const txs = useCommand('ledger:transactions', { ...filters, limit: 500 });
  const set = (patch: Partial<TxFilters>) => setFilters(Object.fromEntries(Object.entries({ ...filters, ...patch }).filter(([, v]) => v)) as TxFilters);
  const col = createColumnHelper<Tx>();
  const columns = [
    col.accessor('postedAt', { header: t('columns.posted'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor('kind', { header: t('columns.kind') }),
    col.accessor('cause', { header: t('columns.cause'), enableSorting: false, cell: (c) => <CauseLink cause={c.getValue()} /> }),
    col.accessor('merchantId', { header: t('columns.merchant'), cell: (c) => (c.getValue() ? <ShortId id={c.getValue()!} /> : t('platform')) }),
    col.accessor('environment', { header: t('columns.environment') }),
    col.accessor('entries', { header: t('columns.entries'), meta: { numeric: true } }),
    col.accessor('totals', {
      header: t('columns.amount'),
      enableSorting: false,
      meta: { numeric: true },
      cell: (c) => c.getValue().map((x) => <div key={x.currency}>{formatMinor(x.debitsMinor, x.currency)}</div>),
    }),
    col.accessor('id', { header: t('columns.transaction'), cell: (c) => <ShortId id={c.getValue()} /> }),
  ];
  return (
    <>
      <search className="toolbar" aria-label={t('filters.transactions')}>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const id = draftCause.trim();
            if (/^ltx_[0-9a-z]+$/.test(id)) window.location.hash = `#/ledger/tx/${id}`;
            else set({ cause: id || undefined });
          }}
        >
          <label className="field">
            <span>{t('filters.cause')}</span>
            <input name="cause" placeholder="inv_… / ltx_…" value={draftCause} onChange={(e) => setDraftCause(e.target.value)} />
          </label>
          <button type="submit">{t('filters.find')}</button>
        </form>
        <label className="field">
          <span>{t('filters.kind')}</span>
          <select name="kind" value={filters.kind ?? ''} onChange={(e) => set({ kind: e.target.value || undefined })}>
            <option value="">{t('filters.anyKind')}</option>
            <option value="invoice.finalized">invoice.finalized</option>
            <option value="invoice.voided">invoice.voided</option>
          </select>
        </label>
        <label className="field">
          <span>{t('filters.environment')}</span>
          <select name="environment" value={filters.environment ?? ''} onChange={(e) => set({ environment: (e.target.value || undefined) as TxFilters['environment'] })}>
            <option value="">{t('filters.bothEnvironments')}</option>
            <option value="live">live</option>
            <option value="sandbox">sandbox</option>
          </select>
        </label>
        {filters.account && (
          <span className="chip">
            {t('filters.account')} <code className="id">{filters.account}</code>
            <button type="button" aria-label={t('filters.clearAccount')} onClick={() => set({ account: undefined })}>
              ×
            </button>
          </span>
        )}
      </search>
      <ErrorNote error={txs.error} />
      {txs.data ? (
        <>
          <DataTable
            label={t('transactionsTable')}
            data={txs.data.items}
            columns={columns}
            rowId={(x) => x.id}
            onRowClick={(x) => {
              window.location.hash = `#/ledger/tx/${x.id}`;
            }}
            empty={t('emptyTransactions')}
          />
          {txs.data.items.length === 500 && <p className="muted">{t('latest500')}</p>}
        </>
      ) : (
        <Loading what={t('loading.transactions')} />
      )}
    </>
  );
}

/** A long ULID id, shortened for dense lists (mer_01m8…6cz); the whole id in the tooltip and in copies. */
function ShortId({ id }: { id: string }) {
  const short = id.length > 16 ? `${id.slice(0, 9)}…${id.slice(-4)}` : id;
  return (
    <code className="id nowrap" title={id}>
      {short}
    </code>
  );
}

function CauseLink({ cause }: { cause: { type: string; id: string } }) {
  return cause.type === 'invoice' ? (
    <a href={`#/invoices/${cause.id}`} className="nowrap" title={cause.id} onClick={(e) => e.stopPropagation()}>
      {cause.type} <ShortId id={cause.id} />
    </a>
  ) : (
    <span className="nowrap" title={cause.id}>
      {cause.type} <ShortId id={cause.id} />
    </span>
  );
}

function Transaction({ id }: { id: string }) {
  const { t } = useTranslation('ledger');
  const shown = useCommand('ledger:show', { tx: id });
  const tx = shown.data;
  const col = createColumnHelper<Entry>();
  const columns = [
    col.accessor('seq', { header: t('columns.seq'), meta: { numeric: true } }),
    col.accessor('accountCode', { header: t('columns.account'), cell: (c) => <code className="id">{c.getValue()}</code> }),
    col.accessor('currency', { header: t('columns.currency') }),
    col.display({
      id: 'debit',
      header: t('columns.debit'),
      meta: { numeric: true },
      cell: (c) => (c.row.original.side === 'debit' ? formatMinor(c.row.original.amountMinor, c.row.original.currency) : ''),
    }),
    col.display({
      id: 'credit',
      header: t('columns.credit'),
      meta: { numeric: true },
      cell: (c) => (c.row.original.side === 'credit' ? formatMinor(c.row.original.amountMinor, c.row.original.currency) : ''),
    }),
  ];
  const totals = new Map<string, { debits: bigint; credits: bigint }>();
  for (const e of tx?.entries ?? []) {
    const x = totals.get(e.currency) ?? { debits: 0n, credits: 0n };
    if (e.side === 'debit') x.debits += BigInt(e.amountMinor);
    else x.credits += BigInt(e.amountMinor);
    totals.set(e.currency, x);
  }
  return (
    <>
      <p className="crumbs">
        <a href="#/ledger/transactions">{t('backToTransactions')}</a>
      </p>
      <ErrorNote error={shown.error} />
      {!tx && !shown.error && <Loading what={t('loading.transaction')} />}
      {tx && (
        <>
          <h2 className="tx-heading">
            {t('tx.heading', { kind: tx.kind })} <code className="id">{tx.id}</code>
          </h2>
          <dl className="facts">
            <dt>{t('tx.description')}</dt>
            <dd>{tx.description}</dd>
            <dt>{t('tx.cause')}</dt>
            <dd>
              <CauseLink cause={tx.cause} />
            </dd>
            <dt>{t('tx.merchant')}</dt>
            <dd>{tx.merchantId ?? t('platform')}</dd>
            <dt>{t('tx.environment')}</dt>
            <dd>{tx.environment}</dd>
            <dt>{t('tx.effective')}</dt>
            <dd>{formatInstant(tx.effectiveAt)}</dd>
            <dt>{t('tx.posted')}</dt>
            <dd>
              {formatInstant(tx.postedAt)}
              {tx.postedBy ? ` · ${tx.postedBy}` : ` · ${t('tx.system')}`}
            </dd>
            <dt>{t('tx.idempotencyKey')}</dt>
            <dd>
              <code className="id">{tx.idempotencyKey}</code>
            </dd>
            {tx.reversesTxId && (
              <>
                <dt>{t('tx.reverses')}</dt>
                <dd>
                  <a href={`#/ledger/tx/${tx.reversesTxId}`}>{tx.reversesTxId}</a>
                </dd>
              </>
            )}
            {tx.reversedByTxId && (
              <>
                <dt>{t('tx.reversedBy')}</dt>
                <dd>
                  <a href={`#/ledger/tx/${tx.reversedByTxId}`}>{tx.reversedByTxId}</a>
                </dd>
              </>
            )}
          </dl>
          <h2>{t('tx.entries')}</h2>
          <DataTable label={t('entriesTable')} data={tx.entries} columns={columns} rowId={(e) => e.id} empty="—" />
          <p className="muted balanced" data-testid="balanced">
            {[...totals.entries()]
              .map(([currency, x]) =>
                t(x.debits === x.credits ? 'tx.balanced' : 'tx.unbalanced', {
                  currency,
                  debits: formatMinor(String(x.debits), currency),
                  credits: formatMinor(String(x.credits), currency),
                }),
              )
              .join(' · ')}
          </p>
        </>
      )}
    </>
  );
}
