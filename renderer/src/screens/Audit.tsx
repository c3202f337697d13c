import { useTranslation } from 'react-i18next';

/** Placeholder: the Audit screen is being built (issue 11). */
export function AuditScreen() {
  const { t } = useTranslation('audit');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
    </section>
  );
}
