import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';

type Submission = CommandOutput<'kyb:list'>['items'][number];
type Decision = CommandOutput<'kyb:approve'>;
const col = createColumnHelper<Submission>();
const STATUSES = [
  ['pending_review', 'Waiting for review'],
  ['info_requested', 'Information requested'],
  ['approved', 'Approved'],
  ['rejected', 'Rejected'],
] as const;
const statusLabel = (s: string) => STATUSES.find(([k]) => k === s)?.[1] ?? s;

export function KybScreen() {
  const { run, can } = useSession();
  const [status, setStatus] = useState<(typeof STATUSES)[number][0] | ''>('pending_review');
  const list = useCommand('kyb:list', status ? { status } : {});
  const [acting, setActing] = useState<{ kind: 'approve' | 'reject'; row: Submission }>();
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string>();

  const columns = [
    col.accessor('companyName', { header: 'Company' }),
    col.accessor('merchantName', { header: 'Merchant' }),
    col.accessor('country', { header: 'Country' }),
    col.accessor('submittedAt', { header: 'Submitted', cell: (c) => formatInstant(c.getValue()) }),
    col.accessor('kybStatus', { header: 'KYB status', cell: (c) => <span className={`pill ${c.getValue()}`}>{statusLabel(c.getValue())}</span> }),
    col.display({
      id: 'actions',
      header: 'Decision',
      cell: (c) =>
        c.row.original.kybStatus === 'pending_review' && can('kyb:approve') ? (
          <span className="row-actions">
            <button type="button" onClick={() => setActing({ kind: 'approve', row: c.row.original })}>
              Approve…
            </button>
            <button type="button" className="danger-text" onClick={() => setActing({ kind: 'reject', row: c.row.original })}>
              Reject…
            </button>
          </span>
        ) : null,
    }),
  ];

  const report = (d: Decision, row: Submission) =>
    d.status === 'approved'
      ? `Approved ${row.companyName}. Live access ${d.liveAccess.unlocked ? 'is unlocked' : `still needs: ${d.liveAccess.missing.join(', ')}`}.`
      : `Rejected ${row.companyName}; the merchant sees the reason.`;

  return (
    <section>
      <header className="screen-head">
        <h1>KYB review</h1>
        <label className="inline">
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="">All</option>
            {STATUSES.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </header>
      {done && <Notice>{done}</Notice>}
      <ErrorNote error={list.error} />
      {list.data ? (
        <DataTable label="KYB submissions" data={list.data.items} columns={columns} rowId={(r) => r.merchantId} empty="Nothing is waiting for review." />
      ) : (
        <Loading what="submissions" />
      )}
      {acting?.kind === 'approve' && (
        <ConfirmDialog
          title={`Approve KYB for ${acting.row.companyName}`}
          consequence={
            <p>
              This approves the KYB submission of <strong>{acting.row.merchantName}</strong> ({acting.row.companyName}, {acting.row.country}). Once its other requirements are met,
              the merchant can use live API keys and take real payments. The decision is recorded in the audit log under your name.
            </p>
          }
          confirmLabel="Approve KYB"
          stepUp={BRIDGE_COMMANDS['kyb:approve'].stepUp}
          run={(otp) => run('kyb:approve', { merchant: acting.row.merchantId }, { otp })}
          onDone={(r) => {
            setDone(report(r.data as Decision, acting.row));
            setActing(undefined);
            list.reload();
          }}
          onCancel={() => setActing(undefined)}
        />
      )}
      {acting?.kind === 'reject' && (
        <ConfirmDialog
          title={`Reject KYB for ${acting.row.companyName}`}
          tone="danger"
          consequence={
            <p>
              This rejects the KYB submission of <strong>{acting.row.merchantName}</strong>. The merchant sees the reason below and cannot go live until it submits again.
            </p>
          }
          confirmLabel="Reject KYB"
          stepUp={BRIDGE_COMMANDS['kyb:reject'].stepUp}
          ready={reason.trim().length >= 3}
          run={(otp) => run('kyb:reject', { merchant: acting.row.merchantId, reason }, { otp })}
          onDone={(r) => {
            setDone(report(r.data as Decision, acting.row));
            setActing(undefined);
            setReason('');
            list.reload();
          }}
          onCancel={() => setActing(undefined)}
        >
          <label className="field">
            <span>Reason (shown to the merchant)</span>
            <textarea name="reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        </ConfirmDialog>
      )}
    </section>
  );
}
