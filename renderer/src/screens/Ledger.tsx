import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { BridgeError, CommandOutput } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatMinor } from '../money';
import { DataTable, compareMinor } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';

type Balance = CommandOutput<'ledger:balances'>['items'][number];
type Verified = CommandOutput<'ledger:verify'>;
const col = createColumnHelper<Balance>();
const columns = [
  col.accessor('code', { header: 'Account' }),
  col.accessor('type', { header: 'Type', cell: (c) => c.getValue().replaceAll('_', ' ') }),
  col.accessor('environment', { header: 'Env' }),
  col.accessor('currency', { header: 'Currency' }),
  col.accessor('debitsMinor', {
    header: 'Debits',
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.debitsMinor, b.original.debitsMinor),
    cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
  }),
  col.accessor('creditsMinor', {
    header: 'Credits',
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.creditsMinor, b.original.creditsMinor),
    cell: (c) => formatMinor(c.getValue(), c.row.original.currency),
  }),
  col.accessor('balanceMinor', {
    header: `Balance (normal side)`,
    meta: { numeric: true },
    sortingFn: (a, b) => compareMinor(a.original.balanceMinor, b.original.balanceMinor),
    cell: (c) => `${formatMinor(c.getValue(), c.row.original.currency)} ${c.row.original.normalSide === 'debit' ? 'Dr' : 'Cr'}`,
  }),
];

export function LedgerScreen() {
  const { run, can } = useSession();
  const balances = useCommand('ledger:balances', {});
  const [verifying, setVerifying] = useState(false);
  const [verified, setVerified] = useState<Verified>();
  const [verifyError, setVerifyError] = useState<BridgeError>();

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
        <h1>Ledger</h1>
        {can('ledger:verify') && (
          <button type="button" onClick={verify} disabled={verifying}>
            {verifying ? 'Verifying…' : 'Verify ledger'}
          </button>
        )}
      </header>
      {verified && (
        <Notice>
          Ledger intact: {verified.entries} entries in {verified.transactions} transactions; the hash chain checks out and every currency sums to zero (
          {Object.entries(verified.totals)
            .map(([currency, t]) => `${currency}: debits ${formatMinor(t.debitsMinor, currency)} = credits ${formatMinor(t.creditsMinor, currency)}`)
            .join('; ') || 'no entries yet'}
          ). Head <code className="code">{verified.headHash.slice(0, 16)}…</code>
        </Notice>
      )}
      <ErrorNote error={verifyError} />
      <ErrorNote error={balances.error} />
      {balances.data ? (
        <DataTable label="Account balances" data={balances.data.items} columns={columns} rowId={(b) => b.id} empty="No ledger accounts yet: they appear with the first invoice." />
      ) : (
        <Loading what="balances" />
      )}
    </section>
  );
}
