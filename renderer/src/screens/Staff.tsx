import { useTranslation } from 'react-i18next';

/** Placeholder: the Staff screen is being built (issue 11). */
export function StaffScreen() {
  const { t } = useTranslation('staff');
  return (
    <section>
      <header className="screen-head">
        <h1>{t('title')}</h1>
      </header>
    </section>
  );
}
