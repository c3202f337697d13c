import type { Messages } from '../types';
import type en from '../en/ui';

/** Simplified Chinese for the "ui" namespace: the same keys as en/ui.ts (the typecheck insists). */
export default {
  title: '通用界面组件',
  table: {
    filterLabel: '筛选{{label}}',
    filterPlaceholder: '筛选行…',
    rowCount: '{{n}} 行',
    oneRow: '1 行',
    filteredCount: '{{shown}} / {{total}} 行',
    loadingMore: '正在加载更多…',
    noMatch: '没有与“{{filter}}”匹配的行。',
    export: '下载 CSV',
    exportWaits: '全部行加载完成后可用',
  },
  dialog: {
    twoFactor: '两步验证码（须为新的、未用过的验证码）',
    twoFactorLabel: '两步验证码',
    cancel: '取消',
    working: '处理中…',
  },
} satisfies Messages<typeof en>;
