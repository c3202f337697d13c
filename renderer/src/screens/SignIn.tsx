import QRCode from 'qrcode';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError, Enrolment, SignedIn } from '../../../core/backoffice/bridge.js';
import { LanguageSwitch } from '../App';
import { bridge } from '../bridge';
import { ErrorNote } from '../ui/Feedback';

/**
 * Sign-in (password + TOTP, always), and the first sign-in's enrolment: the password alone gets a
 * fresh TOTP secret (core/staff/enrolment.ts), shown here as a QR code and as text, and the
 * officer finishes with an ordinary sign-in using a code from the app. The secret stays in this
 * component's memory only, and is gone when the screen is left.
 */
export function SignInScreen({ reason, onSignedIn }: { reason?: BridgeError; onSignedIn: (who: SignedIn) => void }) {
  const { t } = useTranslation('signin');
  const [mode, setMode] = useState<'sign-in' | 'enrol'>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [otp, setOtp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BridgeError | undefined>(reason);
  const [enrolment, setEnrolment] = useState<(Enrolment & { qr: string }) | null>(null);

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const r = await bridge.signIn({ email, password, otp });
    setBusy(false);
    if (r.ok) onSignedIn(r.data);
    else {
      setError(r.error);
      setOtp('');
    }
  };

  const enrol = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const r = await bridge.enrol({ email, password });
    if (r.ok) {
      // An SVG drawn here, shown as a data: image: the CSP allows those, and no inline markup.
      const svg = await QRCode.toString(r.data.otpauthUri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      setEnrolment({ ...r.data, qr: `data:image/svg+xml;base64,${btoa(svg)}` });
      setError(undefined);
    } else setError(r.error);
    setBusy(false);
  };

  const switchTo = (next: 'sign-in' | 'enrol') => {
    setMode(next);
    setEnrolment(null);
    setError(undefined);
    setOtp('');
  };

  const emailField = (
    <label className="field">
      <span>{t('email')}</span>
      <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
    </label>
  );
  const passwordField = (
    <label className="field">
      <span>{t('password')}</span>
      <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
    </label>
  );
  const otpField = (
    <label className="field">
      <span>{t('otp')}</span>
      <input
        name="otp"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="\d{6}"
        maxLength={6}
        required
        value={otp}
        onChange={(e) => setOtp(e.target.value.replace(/\D/g, ''))}
      />
    </label>
  );
  const submit = (
    <button type="submit" className="primary" disabled={busy}>
      {busy ? t('submitting') : t('submit')}
    </button>
  );

  if (mode === 'enrol' && enrolment) {
    return (
      <main className="signin">
        <form onSubmit={signIn} aria-label={t('enrol.formLabel')}>
          <h1>{t('enrol.heading')}</h1>
          <p className="muted">{t('enrol.scan')}</p>
          <img className="enrol-qr" src={enrolment.qr} alt={t('enrol.qrAlt')} width={200} height={200} data-testid="enrol-qr" />
          <p className="muted">{t('enrol.account', { email: enrolment.email })}</p>
          <p className="muted">{t('enrol.manual')}</p>
          <code className="code enrol-secret" data-testid="enrol-secret">
            {enrolment.secret.match(/.{1,4}/g)?.join(' ')}
          </code>
          <p className="muted">{t('enrol.oneTime')}</p>
          <p>{t('enrol.confirm')}</p>
          {otpField}
          <ErrorNote error={error} />
          {submit}
          <button type="button" className="link" onClick={() => switchTo('sign-in')}>
            {t('backToSignIn')}
          </button>
        </form>
      </main>
    );
  }

  if (mode === 'enrol') {
    return (
      <main className="signin">
        <form onSubmit={enrol} aria-label={t('enrol.formLabel')}>
          <h1>{t('enrol.heading')}</h1>
          <p className="muted">{t('enrol.intro')}</p>
          {emailField}
          {passwordField}
          <ErrorNote error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('enrol.submitting') : t('enrol.submit')}
          </button>
          <button type="button" className="link" onClick={() => switchTo('sign-in')}>
            {t('backToSignIn')}
          </button>
          <LanguageSwitch />
        </form>
      </main>
    );
  }

  return (
    <main className="signin">
      <form onSubmit={signIn} aria-label={t('formLabel')}>
        <h1>{t('title')}</h1>
        <p className="muted">{t('intro')}</p>
        {emailField}
        {passwordField}
        {otpField}
        <ErrorNote error={error} />
        {submit}
        <button type="button" className="link" onClick={() => switchTo('enrol')}>
          {t('firstTime')}
        </button>
        <LanguageSwitch />
      </form>
    </main>
  );
}
