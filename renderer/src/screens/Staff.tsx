import { zodResolver } from '@hookform/resolvers/zod';
import { createColumnHelper } from '@tanstack/react-table';
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import type { CommandInput, CommandOutput } from '../../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../../core/backoffice/bridge.js';
import { useCommand, useSession } from '../api';
import { formatInstant } from '../money';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { DataTable } from '../ui/DataTable';
import { ErrorNote, Loading, Notice } from '../ui/Feedback';
import './admin.css';
import { Rich } from './Kyb';

type Member = CommandOutput<'staff:list'>['items'][number];
type Created = CommandOutput<'staff:add'>;
type Role = Member['role'];
const ROLES = ['admin', 'finance', 'support'] as const satisfies readonly Role[];

// staff:add's own rules (core/staff/accounts.ts: StaffEmail, StaffPassword), restated because
// that module hashes passwords with bcrypt and cannot be bundled into the renderer.
const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_BYTES = 72;

/** The add-staff form: what staff:add accepts, with an empty password meaning "generate one". */
const NewStaffForm = z.object({
  email: z.string().trim().max(254).pipe(z.email()),
  role: z.enum(ROLES),
  password: z.string().refine((p) => p === '' || (p.length >= PASSWORD_MIN_LENGTH && new TextEncoder().encode(p).length <= PASSWORD_MAX_BYTES)),
});
type NewStaffForm = z.infer<typeof NewStaffForm>;

const toCommandInput = (f: NewStaffForm): CommandInput<'staff:add'> => ({ email: f.email, role: f.role, ...(f.password ? { password: f.password } : {}) });

export function StaffScreen() {
  const { me, can } = useSession();
  const { t } = useTranslation('staff');
  const list = useCommand('staff:list', {});
  const [adding, setAdding] = useState(false);
  const [confirming, setConfirming] = useState<NewStaffForm>();
  const [created, setCreated] = useState<Created>();
  const [disabling, setDisabling] = useState<Member>();
  const [done, setDone] = useState<string>();
  const members = list.data?.items ?? [];
  const emailOf = (id: string | null) => (id === null ? t('bootstrap') : (members.find((m) => m.id === id)?.email ?? id));

  const col = createColumnHelper<Member>();
  const columns = [
    col.accessor('email', { header: t('columns.email') }),
    col.accessor('role', { header: t('columns.role'), cell: (c) => <span className="pill role">{t(`roles.${c.getValue()}`)}</span> }),
    col.accessor('status', {
      header: t('columns.status'),
      cell: (c) => {
        const m = c.row.original;
        if (m.status === 'disabled') {
          return (
            <span className="status-cell">
              <span className="pill disabled">{t('statuses.disabled')}</span>
              {m.disabledAt && <span className="muted nowrap">{formatInstant(m.disabledAt)}</span>}
            </span>
          );
        }
        return m.lockedUntil ? (
          <span className="pill locked nowrap">{t('lockedUntil', { at: formatInstant(m.lockedUntil) })}</span>
        ) : (
          <span className="pill active">{t('statuses.active')}</span>
        );
      },
    }),
    col.accessor('twoFactorEnrolled', {
      header: t('columns.twoFactor'),
      cell: (c) =>
        c.getValue() ? (
          <span className="pill enrolled">{t('enrolled')}</span>
        ) : (
          <span className="pill not_enrolled" title={t('notEnrolledHint')}>
            {t('notEnrolled')}
          </span>
        ),
    }),
    col.accessor('createdAt', { header: t('columns.created'), cell: (c) => <span className="nowrap">{formatInstant(c.getValue())}</span> }),
    col.accessor((m) => m.lastSignInAt ?? '', {
      id: 'lastSignIn',
      header: t('columns.lastSignIn'),
      cell: (c) => (c.getValue() ? <span className="nowrap">{formatInstant(c.getValue())}</span> : <span className="muted">{t('neverSignedIn')}</span>),
    }),
    col.accessor((m) => emailOf(m.createdBy), { id: 'createdBy', header: t('columns.createdBy') }),
    col.display({
      id: 'actions',
      header: t('columns.actions'),
      cell: (c) => {
        const m = c.row.original;
        // Core refuses to disable yourself (staff_cannot_disable_self): the button is not offered.
        if (m.id === me.id) return <span className="muted">{t('you')}</span>;
        if (m.status !== 'active' || !can('staff:disable')) return null;
        return (
          <button type="button" className="danger-text small" aria-label={`${t('disableButton')} ${m.email}`} onClick={() => setDisabling(m)}>
            {t('disableButton')}
          </button>
        );
      },
    }),
  ];

  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
        {can('staff:add') && !adding && (
          <button
            type="button"
            className="primary"
            onClick={() => {
              setAdding(true);
              setCreated(undefined);
              setDone(undefined);
            }}
          >
            {t('add.open')}
          </button>
        )}
      </header>
      {done && <Notice>{done}</Notice>}
      {created && <Credentials created={created} onClose={() => setCreated(undefined)} />}
      {adding && <AddStaffForm onReview={setConfirming} onCancel={() => setAdding(false)} />}
      <ErrorNote error={list.error} />
      {list.data ? <DataTable label={t('table')} data={members} columns={columns} rowId={(m) => m.id} empty={t('empty')} /> : <Loading what={t('loading')} />}
      <p className="fine-print">{t('lastSignInNote')}</p>
      {confirming && (
        <AddStaffDialog
          form={confirming}
          onDone={(c) => {
            setConfirming(undefined);
            setAdding(false);
            setCreated(c);
            setDone(t('added', { email: c.staff.email, role: t(`roles.${c.staff.role}`) }));
            list.reload();
          }}
          onCancel={() => setConfirming(undefined)}
        />
      )}
      {disabling && (
        <DisableDialog
          member={disabling}
          onDone={(d) => {
            setDisabling(undefined);
            setDone(t('disable.done', { email: d.email, count: d.sessionsEnded }));
            list.reload();
          }}
          onCancel={() => setDisabling(undefined)}
        />
      )}
    </section>
  );
}

function AddStaffForm({ onReview, onCancel }: { onReview: (form: NewStaffForm) => void; onCancel: () => void }) {
  const { t } = useTranslation('staff');
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<z.input<typeof NewStaffForm>, unknown, NewStaffForm>({ resolver: zodResolver(NewStaffForm), defaultValues: { email: '', role: 'support', password: '' } });
  return (
    <form className="panel" aria-label={t('add.title')} onSubmit={handleSubmit(onReview)} noValidate>
      <div className="form-grid">
        <label className="field">
          <span>{t('add.email')}</span>
          <input type="email" autoComplete="off" aria-invalid={errors.email ? true : undefined} {...register('email')} />
          {errors.email && <span className="invalid">{t('add.errors.email')}</span>}
        </label>
        <label className="field">
          <span>{t('add.role')}</span>
          <select {...register('role')}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('add.password')}</span>
          <input type="password" autoComplete="new-password" aria-invalid={errors.password ? true : undefined} {...register('password')} />
          {errors.password ? (
            <span className="invalid">{t('add.errors.password', { min: String(PASSWORD_MIN_LENGTH) })}</span>
          ) : (
            <span className="hint">{t('add.passwordHint')}</span>
          )}
        </label>
        <span className="row-actions">
          <button type="button" onClick={onCancel}>
            {t('add.cancel')}
          </button>
          <button type="submit" className="primary">
            {t('add.review')}
          </button>
        </span>
      </div>
    </form>
  );
}

function AddStaffDialog({ form, onDone, onCancel }: { form: NewStaffForm; onDone: (created: Created) => void; onCancel: () => void }) {
  const { run } = useSession();
  const { t } = useTranslation('staff');
  const role = t(`roles.${form.role}`);
  return (
    <ConfirmDialog
      title={t('add.dialogTitle', { email: form.email, role })}
      consequence={
        <p>
          <Rich text={t('add.consequence', { email: form.email, role, powers: t(`add.powers.${form.role}`) })} />
        </p>
      }
      confirmLabel={t('add.confirm')}
      stepUp={BRIDGE_COMMANDS['staff:add'].stepUp}
      run={(otp) => run('staff:add', toCommandInput(form), { otp })}
      onDone={(r) => onDone(r.data as Created)}
      onCancel={onCancel}
    />
  );
}

/** The new member's TOTP secret (as a QR code and as text) and any generated password: shown once. */
function Credentials({ created, onClose }: { created: Created; onClose: () => void }) {
  const { t } = useTranslation('staff');
  const [qr, setQr] = useState<string>();
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(created.otpauthUri, { margin: 1, width: 336, errorCorrectionLevel: 'M' }).then((url) => live && setQr(url));
    return () => {
      live = false;
    };
  }, [created.otpauthUri]);
  const grouped = created.totpSecret.replace(/(.{4})(?=.)/g, '$1 ');
  return (
    <section className="panel" aria-label={t('created.title', { email: created.staff.email })} data-testid="credentials">
      <div className="panel-head">
        <strong>{t('created.title', { email: created.staff.email })}</strong>
        <button type="button" onClick={onClose}>
          {t('created.done')}
        </button>
      </div>
      <div className="credentials">
        {qr ? <img src={qr} alt={t('created.qrAlt', { email: created.staff.email })} /> : <span />}
        <div>
          <dl className="kv">
            <dt>{t('created.secret')}</dt>
            <dd>
              <span className="secret" data-testid="totp-secret">
                {grouped}
              </span>
            </dd>
            {created.generatedPassword ? (
              <>
                <dt>{t('created.password')}</dt>
                <dd>
                  <span className="secret" data-testid="generated-password">
                    {created.generatedPassword}
                  </span>
                </dd>
              </>
            ) : (
              <>
                <dt />
                <dd className="muted">{t('created.passwordChosen')}</dd>
              </>
            )}
            <dt>{t('created.uri')}</dt>
            <dd>
              <code className="code">{created.otpauthUri}</code>
            </dd>
          </dl>
          <p className="fine-print">{t('created.once')}</p>
        </div>
      </div>
    </section>
  );
}

function DisableDialog({ member, onDone, onCancel }: { member: Member; onDone: (d: CommandOutput<'staff:disable'>) => void; onCancel: () => void }) {
  const { run } = useSession();
  const { t } = useTranslation('staff');
  return (
    <ConfirmDialog
      title={t('disable.title', { email: member.email })}
      tone="danger"
      consequence={
        <p>
          <Rich text={t('disable.consequence', { email: member.email, role: t(`roles.${member.role}`) })} />
        </p>
      }
      confirmLabel={t('disable.confirm')}
      stepUp={BRIDGE_COMMANDS['staff:disable'].stepUp}
      run={(otp) => run('staff:disable', { staff: member.id }, { otp })}
      onDone={(r) => onDone(r.data as CommandOutput<'staff:disable'>)}
      onCancel={onCancel}
    />
  );
}
