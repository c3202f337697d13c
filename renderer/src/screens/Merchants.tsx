import { useTranslation } from 'react-i18next';

/** Placeholder: the Merchants screen is being built (issue 11). */
export function MerchantsScreen() {
  const { t } = useTranslation('merchants');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
    </section>
  );
}
