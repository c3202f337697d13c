import { useTranslation } from 'react-i18next';

/** Placeholder: the Settings screen is being built (issue 11). */
export function SettingsScreen() {
  const { t } = useTranslation('settings');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
    </section>
  );
}
