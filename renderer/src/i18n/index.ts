import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en_common from './en/common';
import en_signin from './en/signin';
import en_home from './en/home';
import en_kyb from './en/kyb';
import en_merchants from './en/merchants';
import en_staff from './en/staff';
import en_audit from './en/audit';
import en_fx from './en/fx';
import en_invoices from './en/invoices';
import en_ledger from './en/ledger';
import en_settings from './en/settings';
import en_ui from './en/ui';
import en_payments from './en/payments';
import en_webhooks from './en/webhooks';
import en_settlement from './en/settlement';
import en_chain from './en/chain';
import zh_common from './zh/common';
import zh_signin from './zh/signin';
import zh_home from './zh/home';
import zh_kyb from './zh/kyb';
import zh_merchants from './zh/merchants';
import zh_staff from './zh/staff';
import zh_audit from './zh/audit';
import zh_fx from './zh/fx';
import zh_invoices from './zh/invoices';
import zh_ledger from './zh/ledger';
import zh_settings from './zh/settings';
import zh_ui from './zh/ui';
import zh_payments from './zh/payments';
import zh_webhooks from './zh/webhooks';
import zh_settlement from './zh/settlement';
import zh_chain from './zh/chain';

/**
 * The back office speaks English and Simplified Chinese, switchable at any time (the choice is kept
 * in localStorage). One namespace per screen family, so each screen owns its strings; en/ is the
 * source of truth and zh/ must match its keys (`Messages<typeof en>`), so a missing translation
 * fails the typecheck rather than showing a raw key to a finance officer.
 */
export const resources = {
  en: {
    common: en_common,
    signin: en_signin,
    home: en_home,
    kyb: en_kyb,
    merchants: en_merchants,
    staff: en_staff,
    audit: en_audit,
    fx: en_fx,
    invoices: en_invoices,
    ledger: en_ledger,
    settings: en_settings,
    ui: en_ui,
    payments: en_payments,
    webhooks: en_webhooks,
    settlement: en_settlement,
    chain: en_chain,
  },
  zh: {
    common: zh_common,
    signin: zh_signin,
    home: zh_home,
    kyb: zh_kyb,
    merchants: zh_merchants,
    staff: zh_staff,
    audit: zh_audit,
    fx: zh_fx,
    invoices: zh_invoices,
    ledger: zh_ledger,
    settings: zh_settings,
    ui: zh_ui,
    payments: zh_payments,
    webhooks: zh_webhooks,
    settlement: zh_settlement,
    chain: zh_chain,
  },
} as const;

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'zh', label: '简体中文' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];

const STORAGE_KEY = 'buffmoney.language';

function initialLanguage(): Language {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    // storage unavailable (private mode): fall through to the browser's language
  }
  return typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

void i18n.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: 'en',
  defaultNS: 'common',
  ns: Object.keys(resources.en),
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});
document.documentElement.lang = i18n.language === 'zh' ? 'zh-CN' : 'en';

export function setLanguage(code: Language): void {
  void i18n.changeLanguage(code);
  document.documentElement.lang = code === 'zh' ? 'zh-CN' : 'en';
  try {
    window.localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // not kept; the switch still applies to this window
  }
}

export default i18n;
