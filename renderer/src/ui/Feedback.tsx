import type { ReactNode } from 'react';
import type { BridgeError } from '../../../core/backoffice/bridge.js';
import { useTranslation } from 'react-i18next';
import { describeError } from '../api';

/** An error in words, with the stable code beside it for support and the audit log. */
export function ErrorNote({ error }: { error: BridgeError | undefined }) {
  if (!error) return null;
  return (
    <div className="note error" role="alert">
      {describeError(error)} <code className="code">{error.code}</code>
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <output className="note ok" data-testid="notice">
      {children}
    </output>
  );
}

export function Loading({ what }: { what: string }) {
  const { t } = useTranslation();
  return <p className="muted">{t('loadingWhat', { what })}</p>;
}
