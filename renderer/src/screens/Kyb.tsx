import { createColumnHelper } from '@tanstack/react-table';
import { type SyntheticEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import en from '../i18n/en/kyb';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import './admin.css';

type Submission = CommandOutput<'kyb:list'>['items'][number];
type Shown = CommandOutput<'kyb:show'>;
type Document = Shown['documents'][number];
type Exported = CommandOutput<'kyb:export-document'>;
type Decision = CommandOutput<'kyb:approve'>;
type DocumentKind = keyof typeof en.documents.kinds;
const QUEUE_STATUSES = ['pending_review', 'info_requested', 'approved', 'rejected'] as const;
/** Decisions, as the audit log names them, and their words (i18next keys cannot hold a `:`). */
const DECISION_COMMANDS = { 'kyb:approve': 'approve', 'kyb:reject': 'reject', 'kyb:request-info': 'requestInfo' } as const;
type DecisionCommand = keyof typeof DECISION_COMMANDS;
const isDecision = (command: string): command is DecisionCommand => command in DECISION_COMMANDS;

/** KYB words for a status / document kind / live-access requirement; unknown values show as they are. */
function useKybWords() {
  const { t } = useTranslation('kyb');
  return {
    t,
    status: (s: string) => (s in en.statuses ? t(`statuses.${s as keyof typeof en.statuses}`) : s),
    kind: (k: string) => (k in en.documents.kinds ? t(`documents.kinds.${k as DocumentKind}`) : k),
    requirement: (r: string) => (r in en.requirements ? t(`requirements.${r as keyof typeof en.requirements}`) : r),
  };
}

/** The KYB status as a coloured pill in the officer's language. */
export function KybStatusPill({ status }: { status: string }) {
  const words = useKybWords();
  return <span className={`pill ${status}`}>{words.status(status)}</span>;
}

/** A button or link inside a clickable row acts on its own, without also opening the row. */
const stop = (e: SyntheticEvent) => e.stopPropagation();

const openSubmission = (merchantId: string) => {
  window.location.hash = `#/kyb/${encodeURIComponent(merchantId)}`;
};

/**
 * A translated sentence whose <b>…</b> parts are shown in bold: the consequence of an action names
 * its object in bold in every language. Rendered as React text, so values stay plain text.
 */
export function Rich({ text }: { text: string }) {
  const parts = text.split(/<b>(.*?)<\/b>/g);
  // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed sentence, in order
  return <>{parts.map((part, i) => (i % 2 === 1 ? <strong key={i}>{part}</strong> : part))}</>;
}

/** What the officer is about to decide, and on whose submission. */
interface Deciding {
  kind: 'approve' | 'reject' | 'request-info';
  merchantId: string;
  merchantName: string;
  companyName: string;
  country: string;
}

export function KybScreen() {
  const { can } = useSession();
  const { t, status: statusLabel } = useKybWords();
  const [status, setStatus] = useState<(typeof QUEUE_STATUSES)[number] | ''>('pending_review');
  const list = useCommand('kyb:list', status ? { status } : {});
  const [deciding, setDeciding] = useState<Deciding>();
  const [done, setDone] = useState<string>();
  const decide = (kind: Deciding['kind'], row: Submission, e: SyntheticEvent) => {
    stop(e);
    setDeciding({ kind, ...row });
  };

  const col = createColumnHelper<Submission>();
  const columns = [
    col.accessor('companyName', {
      header: t('columns.company'),
      cell: (c) => (
        <a href={`#/kyb/${encodeURIComponent(c.row.original.merchantId)}`} onClick={stop}>
          {c.getValue()}
        </a>
      ),
    }),
    col.accessor('merchantName', { header: t('columns.merchant') }),
    col.accessor('country', { header: t('columns.country') }),
    col.accessor('submittedAt', { header: t('columns.submitted'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor('kybStatus', { header: t('columns.status'), cell: (c) => <KybStatusPill status={c.getValue()} /> }),
    col.display({
      id: 'actions',
      header: t('columns.decision'),
      cell: (c) =>
        c.row.original.kybStatus === 'pending_review' && can('kyb:approve') ? (
          // The row opens the submission; the buttons decide without opening it.
          <span className="row-actions">
            <button type="button" className="small" onKeyDown={stop} onClick={(e) => decide('approve', c.row.original, e)}>
              {t('approveButton')}
            </button>
            <button type="button" className="danger-text small" onKeyDown={stop} onClick={(e) => decide('reject', c.row.original, e)}>
              {t('rejectButton')}
            </button>
          </span>
        ) : null,
    }),
  ];

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
        <label className="inline">
          {t('statusFilter')}{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="">{t('all')}</option>
            {QUEUE_STATUSES.map((k) => (
              <option key={k} value={k}>
                {statusLabel(k)}
              </option>
            ))}
          </select>
        </label>
      </header>
      {done && <Notice>{done}</Notice>}
      <ErrorNote error={list.error} />
      {list.data ? (
        <DataTable
          label={t('table')}
          data={list.data.items}
          columns={columns}
          rowId={(r) => r.merchantId}
          onRowClick={(r) => openSubmission(r.merchantId)}
          empty={status === 'pending_review' ? t('empty') : t('emptyFiltered')}
        />
      ) : (
        <Loading what={t('loadingSubmissions')} />
      )}
      {deciding && (
        <DecisionDialog
          deciding={deciding}
          onDone={(report) => {
            setDone(report);
            setDeciding(undefined);
            list.reload();
          }}
          onCancel={() => setDeciding(undefined)}
        />
      )}
    </section>
  );
}

/** Approve, reject or ask for more: each says what it does first; approve and reject ask for a fresh code. */
function DecisionDialog({ deciding, onDone, onCancel }: { deciding: Deciding; onDone: (report: string) => void; onCancel: () => void }) {
  const { run } = useSession();
  const { t, requirement } = useKybWords();
  const [text, setText] = useState('');
  const who = { merchant: deciding.merchantName, company: deciding.companyName, country: deciding.country };
  const report = (d: Decision) =>
    d.status === 'approved'
      ? d.liveAccess.unlocked
        ? t('report.approvedUnlocked', { company: deciding.companyName })
        : t('report.approvedMissing', { company: deciding.companyName, missing: d.liveAccess.missing.map(requirement).join(', ') })
      : d.status === 'rejected'
        ? t('report.rejected', { company: deciding.companyName })
        : t('report.infoRequested', { company: deciding.companyName });
  const finish = (r: { data: unknown }) => onDone(report(r.data as Decision));

  // The three decisions differ only in their words, their command and whether staff write a
  // reason (reject) or a message to the merchant (request-info); one dialog renders each.
  const shape = DECISION_SHAPES[deciding.kind];
  const field = shape.field;
  return (
    <ConfirmDialog
      title={t(`${shape.words}.title`, who)}
      tone={shape.tone}
      consequence={
        <p>
          <Rich text={t(`${shape.words}.consequence`, who)} />
        </p>
      }
      confirmLabel={t(`${shape.words}.confirm`)}
      stepUp={BRIDGE_COMMANDS[shape.command].stepUp}
      ready={field ? text.trim().length >= 3 : undefined}
      run={(otp) => run(shape.command, { merchant: deciding.merchantId, ...(field ? { [field.name]: text } : {}) } as never, { otp })}
      onDone={finish}
      onCancel={onCancel}
    >
      {field && (
        <label className="field">
          <span>{t(field.label)}</span>
          <textarea name={field.name} rows={field.rows} maxLength={2000} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      )}
    </ConfirmDialog>
  );
}

const DECISION_SHAPES = {
  approve: { command: 'kyb:approve', words: 'approve', tone: undefined, field: undefined },
  reject: { command: 'kyb:reject', words: 'reject', tone: 'danger', field: { name: 'reason', label: 'reject.reason', rows: 3 } },
  'request-info': { command: 'kyb:request-info', words: 'requestInfo', tone: undefined, field: { name: 'message', label: 'requestInfo.message', rows: 4 } },
} as const satisfies Record<Deciding['kind'], unknown>;

/** Bytes as an officer reads them: "24.1 KB" (whole bytes below 1 KB). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const tenthsKb = Math.round((bytes * 10) / 1024);
  if (tenthsKb < 10_240) return `${Math.floor(tenthsKb / 10)}.${tenthsKb % 10} KB`;
  const tenthsMb = Math.round((bytes * 10) / (1024 * 1024));
  return `${Math.floor(tenthsMb / 10)}.${tenthsMb % 10} MB`;
}

/** The one submission: facts, documents (viewable), review history, and the decisions. */
export function KybDetail({ merchantId }: { merchantId: string }) {
  const { can } = useSession();
  const { t, status: statusLabel } = useKybWords();
  const { t: tm } = useTranslation('merchants');
  const merchantStatus = (s: string) => (s === 'active' || s === 'suspended' || s === 'deactivated' ? tm(`statuses.${s}`) : s);
  const shown = useCommand('kyb:show', { merchant: merchantId });
  const [deciding, setDeciding] = useState<Deciding>();
  const [done, setDone] = useState<string>();
  const s = shown.data;
  const pending = s?.kyb.status === 'pending_review';
  const decide = (kind: Deciding['kind']) =>
    s && setDeciding({ kind, merchantId: s.merchant.id, merchantName: s.merchant.name, companyName: s.kyb.companyName ?? s.merchant.name, country: s.kyb.country ?? '' });

  return (
    <section>
      <p className="crumbs">
        <a href="#/kyb">{t('back')}</a>
      </p>
      <ErrorNote error={shown.error} />
      {!s && !shown.error && <Loading what={t('loadingSubmission')} />}
      {s && (
        <>
          <header className="screen-head">
            <h1>
              {s.kyb.companyName ?? s.merchant.name} <KybStatusPill status={s.kyb.status} />
            </h1>
            {pending && (
              <span className="row-actions">
                {can('kyb:request-info') && (
                  <button type="button" onClick={() => decide('request-info')}>
                    {t('requestInfoButton')}
                  </button>
                )}
                {can('kyb:reject') && (
                  <button type="button" className="danger-text" onClick={() => decide('reject')}>
                    {t('rejectButton')}
                  </button>
                )}
                {can('kyb:approve') && (
                  <button type="button" className="primary" onClick={() => decide('approve')}>
                    {t('approveButton')}
                  </button>
                )}
              </span>
            )}
          </header>
          {done && <Notice>{done}</Notice>}
          {s.kyb.submissionId === null && <p className="muted">{t('detail.noSubmission')}</p>}
          <dl className="facts wide" aria-label={t('detail.facts')}>
            <dt>{t('detail.company')}</dt>
            <dd>{s.kyb.companyName ?? '—'}</dd>
            <dt>{t('detail.merchant')}</dt>
            <dd>
              {s.merchant.name} <a href={`#/merchants/${encodeURIComponent(s.merchant.id)}`}>{t('detail.openMerchant')}</a>
            </dd>
            <dt>{t('detail.registrationNumber')}</dt>
            <dd className="mono">{s.kyb.registrationNumber ?? '—'}</dd>
            <dt>{t('detail.merchantEmail')}</dt>
            <dd>{s.merchant.email}</dd>
            <dt>{t('detail.country')}</dt>
            <dd>{s.kyb.country ?? '—'}</dd>
            <dt>{t('detail.merchantId')}</dt>
            <dd className="mono">{s.merchant.id}</dd>
            <dt>{t('detail.submitted')}</dt>
            <dd>{formatInstant(s.kyb.submittedAt)}</dd>
            <dt>{t('detail.accountStatus')}</dt>
            <dd>
              <span className={`pill ${s.merchant.status}`}>{merchantStatus(s.merchant.status)}</span>
            </dd>
            <dt>{t('detail.reviewed')}</dt>
            <dd>{s.kyb.reviewedAt ? formatInstant(s.kyb.reviewedAt) : t('detail.notReviewed')}</dd>
            <dt>{t('detail.reviewedBy')}</dt>
            <dd>{s.reviewedBy ?? '—'}</dd>
            <dt>{t('detail.submissionId')}</dt>
            <dd className="mono">{s.kyb.submissionId ?? '—'}</dd>
            <dt>{t('columns.status')}</dt>
            <dd>{statusLabel(s.kyb.status)}</dd>
            {s.kyb.rejectionReason && (
              <>
                <dt>{t('detail.rejectionReason')}</dt>
                <dd className="span3 prewrap">{s.kyb.rejectionReason}</dd>
              </>
            )}
            {s.kyb.infoRequest && (
              <>
                <dt>{t('detail.infoRequest')}</dt>
                <dd className="span3 prewrap">{s.kyb.infoRequest}</dd>
              </>
            )}
          </dl>
          <Documents merchantId={s.merchant.id} documents={s.documents} />
          {can('audit:list') && <ReviewHistory merchantId={s.merchant.id} generation={done} />}
          <p className="fine-print">{t('auditedNote')}</p>
        </>
      )}
      {deciding && (
        <DecisionDialog
          deciding={deciding}
          onDone={(report) => {
            setDone(report);
            setDeciding(undefined);
            shown.reload();
          }}
          onCancel={() => setDeciding(undefined)}
        />
      )}
    </section>
  );
}

const VIEWABLE_IMAGES = new Set(['image/png', 'image/jpeg']);

async function sha256Hex(bytes: Uint8Array): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined; // not a secure context: no check rather than a wrong one
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function Documents({ merchantId, documents }: { merchantId: string; documents: Document[] }) {
  const { run } = useSession();
  const { t, kind: kindLabel } = useKybWords();
  const [opening, setOpening] = useState<string>();
  const [open, setOpen] = useState<{ doc: Exported; hashMatches?: boolean }>();
  const [error, setError] = useState<BridgeError>();

  const view = async (d: Document) => {
    setOpening(d.kind);
    setError(undefined);
    const r = await run('kyb:export-document', { merchant: merchantId, kind: d.kind as DocumentKind });
    setOpening(undefined);
    if (!r.ok) return setError(r.error);
    const bytes = Uint8Array.from(atob(r.data.contentBase64), (c) => c.charCodeAt(0));
    const actual = await sha256Hex(bytes);
    setOpen({ doc: r.data, hashMatches: actual === undefined ? undefined : actual === d.sha256 && actual === r.data.sha256 });
  };

  const col = createColumnHelper<Document>();
  const columns = [
    col.accessor('kind', { header: t('documents.kind'), cell: (c) => kindLabel(c.getValue()) }),
    col.accessor('fileName', { header: t('documents.file') }),
    col.accessor('contentType', { header: t('documents.type') }),
    col.accessor('sizeBytes', { header: t('documents.size'), meta: { numeric: true }, cell: (c) => formatBytes(c.getValue()) }),
    col.accessor('sha256', {
      header: t('documents.sha256'),
      enableSorting: false,
      cell: (c) => (
        <code className="code" title={c.getValue()}>
          {c.getValue().slice(0, 16)}…
        </code>
      ),
    }),
    col.display({
      id: 'view',
      header: '',
      cell: (c) => (
        <button
          type="button"
          className="small"
          aria-label={`${t('documents.view')} ${kindLabel(c.row.original.kind)}`}
          disabled={opening !== undefined}
          onClick={() => view(c.row.original)}
        >
          {opening === c.row.original.kind ? t('documents.viewing') : open?.doc.kind === c.row.original.kind ? t('documents.shown') : t('documents.view')}
        </button>
      ),
    }),
  ];

  return (
    <>
      <h2>{t('documents.title')}</h2>
      <DataTable label={t('documents.table')} data={documents} columns={columns} rowId={(d) => d.kind} empty={t('documents.empty')} />
      <ErrorNote error={error} />
      {open && <DocumentViewer doc={open.doc} hashMatches={open.hashMatches} onClose={() => setOpen(undefined)} />}
    </>
  );
}

function DocumentViewer({ doc, hashMatches, onClose }: { doc: Exported; hashMatches?: boolean; onClose: () => void }) {
  const { t, kind: kindLabel } = useKybWords();
  // data: URLs: the CSP allows `img-src data:` and nothing else outside 'self' (no blob:, no frames).
  const image = VIEWABLE_IMAGES.has(doc.contentType);
  const type = image || doc.contentType === 'application/pdf' ? doc.contentType : 'application/octet-stream';
  const href = `data:${type};base64,${doc.contentBase64}`;
  return (
    <section className="panel doc-viewer" aria-label={t('documents.viewer')}>
      <div className="panel-head">
        <strong>
          {kindLabel(doc.kind)} · {doc.fileName} <span className="muted">({formatBytes(doc.sizeBytes)})</span>
        </strong>
        <span className="row-actions">
          <a className="button-link" href={href} download={doc.fileName}>
            {t('documents.download', { file: doc.fileName })}
          </a>
          <button type="button" onClick={onClose}>
            {t('documents.close')}
          </button>
        </span>
      </div>
      {hashMatches !== undefined && <p className={hashMatches ? 'hash ok' : 'hash bad'}>{hashMatches ? t('documents.hashOk') : t('documents.hashBad')}</p>}
      {image ? (
        <img className="doc-image" src={href} alt={t('documents.imageAlt', { kind: kindLabel(doc.kind), file: doc.fileName })} />
      ) : (
        <p className="muted">{doc.contentType === 'application/pdf' ? t('documents.pdfNote') : t('documents.otherNote')}</p>
      )}
    </section>
  );
}

type AuditEntry = CommandOutput<'audit:list'>['items'][number];

/** The decisions on this merchant's KYB, from the audit log (who, when, with what message). */
function ReviewHistory({ merchantId, generation }: { merchantId: string; generation: unknown }) {
  const { t } = useKybWords();
  const entries = useCommand('audit:list', { touching: merchantId, limit: 200 });
  const { reload } = entries;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload after each decision made on this page
  useEffect(() => {
    if (generation) reload();
  }, [generation]);
  const decisions = (entries.data?.items ?? []).filter((e) => isDecision(e.command));
  const col = createColumnHelper<AuditEntry>();
  const noteOf = (e: AuditEntry) => {
    const input = (e.input ?? {}) as { reason?: unknown; message?: unknown };
    return String(input.message ?? input.reason ?? '');
  };
  const columns = [
    col.accessor('at', { header: t('history.when'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor((e) => e.actor.email ?? e.actor.staffId ?? '—', { id: 'who', header: t('history.who') }),
    col.accessor('command', { header: t('history.action'), cell: (c) => t(`history.actions.${DECISION_COMMANDS[c.getValue() as DecisionCommand]}`) }),
    col.accessor('outcome', {
      header: t('history.outcome'),
      cell: (c) =>
        c.getValue() === 'ok' ? (
          <span className="pill approved">{t('history.ok')}</span>
        ) : (
          <span className="pill rejected">
            {t('history.error')} · {c.row.original.errorCode}
          </span>
        ),
    }),
    col.accessor(noteOf, { id: 'note', header: t('history.note'), enableSorting: false, cell: (c) => <span className="prewrap">{c.getValue()}</span> }),
  ];
  return (
    <>
      <h2>{t('history.title')}</h2>
      <ErrorNote error={entries.error} />
      {entries.data ? (
        <DataTable label={t('history.table')} data={decisions} columns={columns} rowId={(e) => e.id} empty={t('history.empty')} />
      ) : (
        <Loading what={t('history.title')} />
      )}
    </>
  );
}
