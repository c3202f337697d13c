import { useCallback, useEffect, useMemo, useState } from 'react';
import type { BackOfficeCommandName, BridgeError, SignedIn } from '../../core/backoffice/bridge.js';
import { useTranslation } from 'react-i18next';
import { SessionContext, makeSession, useSession } from './api';
import { bridge } from './bridge';
import { LANGUAGES, type Language, setLanguage } from './i18n';
import { AuditScreen } from './screens/Audit';
import { ChainScreen } from './screens/Chain';
import { FxScreen } from './screens/Fx';
import { HomeScreen } from './screens/Home';
import { InvoiceDetail, InvoicesScreen } from './screens/Invoices';
import { KybDetail, KybScreen } from './screens/Kyb';
import { LedgerScreen } from './screens/Ledger';
import { MerchantDetail, MerchantsScreen } from './screens/Merchants';
import { PaymentsScreen } from './screens/Payments';
import { SettingsScreen } from './screens/Settings';
import { SettlementScreen } from './screens/Settlement';
import { SignInScreen } from './screens/SignIn';
import { StaffScreen } from './screens/Staff';
import { WebhooksScreen } from './screens/Webhooks';

type RoutePath = 'home' | 'kyb' | 'merchants' | 'invoices' | 'payments' | 'settlement' | 'webhooks' | 'chain' | 'fx' | 'ledger' | 'staff' | 'audit' | 'settings';

interface Route {
  path: RoutePath;
  /** The command the screen cannot work without: the entry is hidden from roles that lack it. */
  needs: BackOfficeCommandName;
  /** The screen for the hash's remaining parts (e.g. #/invoices/<id> → ['<id>']). */
  render: (rest: string[]) => React.ReactNode;
}

const ROUTES: Route[] = [
  { path: 'home', needs: 'staff:me', render: () => <HomeScreen /> },
  { path: 'kyb', needs: 'kyb:list', render: (rest) => (rest[0] ? <KybDetail merchantId={rest[0]} /> : <KybScreen />) },
  { path: 'merchants', needs: 'merchants:list', render: (rest) => (rest[0] ? <MerchantDetail merchantId={rest[0]} /> : <MerchantsScreen />) },
  { path: 'invoices', needs: 'invoices:list', render: (rest) => (rest[0] ? <InvoiceDetail id={rest[0]} /> : <InvoicesScreen />) },
  { path: 'payments', needs: 'payments:list', render: (rest) => <PaymentsScreen key={rest[0] ?? ''} tab={rest[0]} /> },
  // Not keyed by the sub-route: the batches filters stay when the tabs switch.
  { path: 'settlement', needs: 'settlement:list', render: (rest) => <SettlementScreen route={rest} /> },
  // Not keyed by the sub-route: the filters stay when the tabs (#/webhooks, #/webhooks/endpoints) switch.
  { path: 'webhooks', needs: 'webhooks:deliveries', render: (rest) => <WebhooksScreen route={rest} /> },
  { path: 'chain', needs: 'chain:status', render: () => <ChainScreen /> },
  { path: 'fx', needs: 'fx:list', render: () => <FxScreen /> },
  { path: 'ledger', needs: 'ledger:balances', render: () => <LedgerScreen /> },
  { path: 'staff', needs: 'staff:list', render: () => <StaffScreen /> },
  { path: 'audit', needs: 'audit:list', render: (rest) => <AuditScreen key={rest[0] ?? ''} touching={rest[0]} /> },
  { path: 'settings', needs: 'staff:me', render: () => <SettingsScreen /> },
];

/** English / 简体中文, switchable at any time; the choice is kept for the next start. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="field lang">
      <span>{t('language')}</span>
      <select name="language" value={i18n.language} onChange={(e) => setLanguage(e.target.value as Language)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

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

  const { t } = useTranslation();
  if (state.phase === 'checking') return <p className="muted center">{t('opening')}</p>;
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
  const { t } = useTranslation();
  const parts = useHashRoute();
  const routes = ROUTES.filter((r) => can(r.needs));
  const current = routes.find((r) => r.path === parts[0]) ?? routes[0];
  const screen = current ? current.render(parts.slice(1)) : <p className="muted">{t('noScreens')}</p>;
  return (
    <div className="shell">
      <nav className="sidebar" aria-label={t('navLabel')}>
        <div className="brand">
          {t('brand')}
          <span className="muted">{t('brandSub')}</span>
        </div>
        <ul>
          {routes.map((r) => (
            <li key={r.path}>
              <a href={`#/${r.path}`} aria-current={r === current ? 'page' : undefined}>
                {t(`nav.${r.path}`)}
              </a>
            </li>
          ))}
        </ul>
        <div className="who">
          <div title={me.email}>{me.email}</div>
          <div className="muted">{me.role}</div>
          <LanguageSwitch />
          <button type="button" onClick={onSignOut}>
            {t('signOut')}
          </button>
        </div>
      </nav>
      <main className="content">{screen}</main>
    </div>
  );
}
