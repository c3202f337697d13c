import { useCallback, useEffect, useMemo, useState } from 'react';
import type { BackOfficeCommandName, BridgeError, SignedIn } from '../../core/backoffice/bridge.js';
import { SessionContext, makeSession, useSession } from './api';
import { bridge } from './bridge';
import { FxScreen } from './screens/Fx';
import { InvoiceDetail, InvoicesScreen } from './screens/Invoices';
import { KybScreen } from './screens/Kyb';
import { LedgerScreen } from './screens/Ledger';
import { SignInScreen } from './screens/SignIn';

interface Route {
  path: string;
  label: string;
  /** The command the screen cannot work without: the entry is hidden from roles that lack it. */
  needs: BackOfficeCommandName;
}

const ROUTES: Route[] = [
  { path: 'kyb', label: 'KYB review', needs: 'kyb:list' },
  { path: 'invoices', label: 'Invoices', needs: 'invoices:list' },
  { path: 'fx', label: 'FX rates', needs: 'fx:list' },
  { path: 'ledger', label: 'Ledger', needs: 'ledger:balances' },
];

const readHash = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);

function useHashRoute(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const on = () => setParts(readHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

export function App() {
  const [state, setState] = useState<{ phase: 'checking' } | { phase: 'signed-out'; reason?: BridgeError } | { phase: 'signed-in'; who: SignedIn }>({ phase: 'checking' });

  useEffect(() => {
    bridge.session().then((r) => setState(r.ok ? { phase: 'signed-in', who: r.data } : { phase: 'signed-out' }));
  }, []);

  const lost = useCallback((reason: BridgeError) => setState({ phase: 'signed-out', reason }), []);
  const session = useMemo(() => (state.phase === 'signed-in' ? makeSession(state.who.staff, lost) : null), [state, lost]);

  if (state.phase === 'checking') return <p className="muted center">Opening the back office…</p>;
  if (state.phase === 'signed-out' || !session) {
    return <SignInScreen reason={state.phase === 'signed-out' ? state.reason : undefined} onSignedIn={(who) => setState({ phase: 'signed-in', who })} />;
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell
        onSignOut={async () => {
          await bridge.signOut();
          setState({ phase: 'signed-out' });
        }}
      />
    </SessionContext.Provider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { me, can } = useSession();
  const parts = useHashRoute();
  const routes = ROUTES.filter((r) => can(r.needs));
  const current = routes.find((r) => r.path === parts[0]) ?? routes[0];
  let screen: React.ReactNode = <p className="muted">Your role has no screens here yet.</p>;
  if (current?.path === 'kyb') screen = <KybScreen />;
  if (current?.path === 'fx') screen = <FxScreen />;
  if (current?.path === 'ledger') screen = <LedgerScreen />;
  if (current?.path === 'invoices') screen = parts[1] ? <InvoiceDetail id={parts[1]} /> : <InvoicesScreen />;
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Back office">
        <div className="brand">
          BuffMoney<span className="muted"> back office</span>
        </div>
        <ul>
          {routes.map((r) => (
            <li key={r.path}>
              <a href={`#/${r.path}`} aria-current={r === current ? 'page' : undefined}>
                {r.label}
              </a>
            </li>
          ))}
        </ul>
        <div className="who">
          <div title={me.email}>{me.email}</div>
          <div className="muted">{me.role}</div>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">{screen}</main>
    </div>
  );
}
