import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BridgeError } from '../../../core/backoffice/bridge.js';
import { LanguageSwitch } from '../App';
import { useSession } from '../api';
import { type BackOfficeShell, type DatabaseSetting, type ShellSettings, type ShellStatus, desktopShell } from '../bridge';
import { ErrorNote, Notice } from '../ui/Feedback';

/**
 * Settings. In the desktop app: where the database is and whether the companion server runs (both
 * read at start, so saving says a restart applies them), through `window.backOfficeShell`. In the
 * browser build there is no shell: the screen states what this build is, read-only.
 */
export function SettingsScreen() {
  const { t } = useTranslation('settings');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
      <section className="panel" aria-label={t('language.heading')}>
        <h2>{t('language.heading')}</h2>
        <LanguageSwitch />
      </section>
      {desktopShell ? <DesktopSettings shell={desktopShell} /> : <BrowserFacts />}
    </section>
  );
}

function BrowserFacts() {
  const { t } = useTranslation('settings');
  return (
    <section className="panel" aria-label={t('browser.heading')} data-testid="browser-build">
      <h2>{t('browser.heading')}</h2>
      <p>{t('browser.build')}</p>
      <p className="muted">{t('browser.database')}</p>
    </section>
  );
}

const asError = (e: { code: string; message: string }): BridgeError => ({ code: e.code, message: e.message });

function DesktopSettings({ shell }: { shell: BackOfficeShell }) {
  const { t } = useTranslation('settings');
  const { me } = useSession();
  const [status, setStatus] = useState<ShellStatus | null>(null);
  const [draft, setDraft] = useState<ShellSettings | null>(null);
  const [error, setError] = useState<BridgeError | undefined>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const isAdmin = me.role === 'admin';

  useEffect(() => {
    shell.status().then((r) => {
      if (r.ok) {
        setStatus(r.data);
        setDraft(r.data.settings);
      } else setError(asError(r.error));
    });
  }, [shell]);

  if (!status || !draft) return <ErrorNote error={error} />;

  const setDatabase = (database: DatabaseSetting) => {
    setDraft({ ...draft, database });
    setSaved(false);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const r = await shell.saveSettings(draft);
    setBusy(false);
    if (r.ok) {
      setStatus(r.data);
      setDraft(r.data.settings);
      setSaved(true);
      setError(undefined);
    } else setError(asError(r.error));
  };
  const choose = async () => {
    const r = await shell.chooseDatabaseFile();
    if (!r.ok) setError(asError(r.error));
    else if (r.data.path) setDatabase({ kind: 'file', path: r.data.path });
  };
  const relaunch = async () => {
    const r = await shell.relaunch();
    if (!r.ok) setError(asError(r.error));
  };
  const server = status.running.server;
  const kind = draft.database.kind;

  return (
    <form onSubmit={save} aria-label={t('title')}>
      <p className="muted">{t('desktop.version', { version: status.version })}</p>
      {status.settingsProblem && <div className="note error">{t('desktop.settingsProblem', { problem: status.settingsProblem })}</div>}

      <fieldset className="panel" disabled={!isAdmin}>
        <legend>{t('desktop.databaseHeading')}</legend>
        <dl className="facts">
          <dt>{t('desktop.databaseInUse')}</dt>
          <dd>
            <code className="code">{status.running.databaseFile ?? t('desktop.databaseNone')}</code>
          </dd>
          {status.running.backupFile && (
            <>
              <dt>{t('desktop.backupMade')}</dt>
              <dd>
                <code className="code">{status.running.backupFile}</code>
              </dd>
            </>
          )}
        </dl>
        {status.running.databaseError && <div className="note error">{status.running.databaseError}</div>}
        {status.running.databaseFromEnvironment && <p className="muted">{t('desktop.databaseFromEnvironment')}</p>}
        <label className="field inline-choice">
          <input type="radio" name="database" checked={kind === 'default'} onChange={() => setDatabase({ kind: 'default' })} />
          <span>
            {t('desktop.kindDefault')} <code className="code">{status.defaultDatabaseFile}</code>
          </span>
        </label>
        <label className="field inline-choice">
          <input
            type="radio"
            name="database"
            checked={kind === 'file'}
            onChange={() => setDatabase({ kind: 'file', path: draft.database.kind === 'file' ? draft.database.path : '' })}
          />
          <span>{t('desktop.kindFile')}</span>
        </label>
        {draft.database.kind === 'file' && (
          <div className="actions">
            <label className="field grow">
              <span>{t('desktop.filePath')}</span>
              <input name="databaseFile" required value={draft.database.path} onChange={(e) => setDatabase({ kind: 'file', path: e.target.value })} />
            </label>
            <button type="button" onClick={choose}>
              {t('desktop.choose')}
            </button>
          </div>
        )}
        <label className="field inline-choice">
          <input
            type="radio"
            name="database"
            checked={kind === 'postgres'}
            onChange={() => setDatabase({ kind: 'postgres', url: draft.database.kind === 'postgres' ? draft.database.url : '' })}
          />
          <span>{t('desktop.kindPostgres')}</span>
        </label>
        {draft.database.kind === 'postgres' && (
          <>
            <label className="field">
              <span>{t('desktop.postgresUrl')}</span>
              <input
                name="postgresUrl"
                required
                placeholder="postgres://user:password@host:5432/buffmoney"
                value={draft.database.url}
                onChange={(e) => setDatabase({ kind: 'postgres', url: e.target.value })}
              />
            </label>
            <p className="muted">{t('desktop.postgresLater')}</p>
          </>
        )}
      </fieldset>

      <fieldset className="panel" disabled={!isAdmin}>
        <legend>{t('desktop.serverHeading')}</legend>
        <p className="muted">{t('desktop.serverExplain')}</p>
        <dl className="facts">
          <dt>{t('desktop.serverState')}</dt>
          <dd data-testid="server-state">{t(`desktop.state.${server.state}`, { url: server.url ?? '', detail: server.detail ?? '' })}</dd>
        </dl>
        <label className="field inline-choice">
          <input
            type="checkbox"
            name="serverEnabled"
            checked={draft.server.enabled}
            onChange={(e) => {
              setDraft({ ...draft, server: { ...draft.server, enabled: e.target.checked } });
              setSaved(false);
            }}
          />
          <span>{t('desktop.serverEnabled')}</span>
        </label>
        <label className="field">
          <span>{t('desktop.serverPort')}</span>
          <input
            name="serverPort"
            type="number"
            min={1024}
            max={65535}
            required
            value={draft.server.port}
            onChange={(e) => {
              setDraft({ ...draft, server: { ...draft.server, port: Number(e.target.value) } });
              setSaved(false);
            }}
          />
        </label>
      </fieldset>

      <ErrorNote error={error} />
      {saved && <Notice>{t('desktop.saved')}</Notice>}
      {status.restartNeeded && (
        <div className="note">
          {t('desktop.restartNeeded')}{' '}
          <button type="button" onClick={relaunch} disabled={!isAdmin}>
            {t('desktop.restart')}
          </button>
        </div>
      )}
      {isAdmin ? (
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t('desktop.saving') : t('desktop.save')}
          </button>
        </div>
      ) : (
        <p className="muted">{t('desktop.adminOnly')}</p>
      )}
      <p className="muted">
        {t('desktop.settingsFile')}: <code className="code">{status.settingsFile}</code>
      </p>
    </form>
  );
}
