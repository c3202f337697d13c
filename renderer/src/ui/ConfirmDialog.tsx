import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, BridgeResult } from '../../../core/backoffice/bridge.js';
import { ErrorNote } from './Feedback';

export interface ConfirmDialogProps {
  title: string;
  /** What the action will do, in full, before it runs. */
  consequence: ReactNode;
  confirmLabel: string;
  /** Ask for a fresh two-factor code (the command is step-up). */
  stepUp: boolean;
  /** Extra fields (e.g. a reason); `ready` false keeps the button disabled. */
  children?: ReactNode;
  ready?: boolean;
  tone?: 'normal' | 'danger';
  run: (otp: string | undefined) => Promise<BridgeResult<unknown>>;
  onDone: (result: { ok: true; data: unknown }) => void;
  onCancel: () => void;
}

/**
 * Every money-moving or destructive action goes through here: it says what will happen, asks for
 * a fresh code when the command is step-up, and stays open with the reason when it fails.
 */
export function ConfirmDialog({ title, consequence, confirmLabel, stepUp, children, ready = true, tone = 'normal', run, onDone, onCancel }: ConfirmDialogProps) {
  const { t } = useTranslation('ui');
  const ref = useRef<HTMLDialogElement>(null);
  const [otp, setOtp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BridgeError>();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const result = await run(stepUp ? otp : undefined);
    setBusy(false);
    if (result.ok) onDone(result);
    else {
      setError(result.error);
      setOtp('');
    }
  };
  const codeOk = !stepUp || /^\d{6}$/.test(otp);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onCancel={onCancel}>
      <form onSubmit={submit}>
        <h2 id="dialog-title">{title}</h2>
        <div className="consequence" data-testid="consequence">
          {consequence}
        </div>
        {children}
        {stepUp && (
          <label className="field">
            <span>{t('dialog.twoFactor')}</span>
            <input
              name="otp"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              maxLength={6}
              value={otp}
              onChange={(e) => {
                setOtp(e.target.value.replace(/\D/g, ''));
                setError(undefined);
              }}
              aria-label={t('dialog.twoFactorLabel')}
            />
          </label>
        )}
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" onClick={onCancel} disabled={busy}>
            {t('dialog.cancel')}
          </button>
          <button type="submit" className={tone === 'danger' ? 'danger' : 'primary'} disabled={busy || !codeOk || !ready}>
            {busy ? t('dialog.working') : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
