import { type FormEvent, useState } from 'react';
import type { BridgeError, SignedIn } from '../../../core/backoffice/bridge.js';
import { bridge } from '../bridge';
import { ErrorNote } from '../ui/Feedback';

export function SignInScreen({ reason, onSignedIn }: { reason?: BridgeError; onSignedIn: (who: SignedIn) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [otp, setOtp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BridgeError | undefined>(reason);
  const submit = async (e: FormEvent) => {
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
  return (
    <main className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>BuffMoney back office</h1>
        <p className="muted">Staff sign-in: password and the code from your authenticator app.</p>
        <label className="field">
          <span>Email</span>
          <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label className="field">
          <span>Two-factor code</span>
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
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
