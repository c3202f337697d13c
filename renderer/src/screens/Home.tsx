import { useTranslation } from 'react-i18next';

/** Placeholder: the Home screen is being built (issue 11). */
export function HomeScreen() {
  const { t } = useTranslation('home');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
    </section>
  );
}
