/** English strings of the "ui" namespace (shared parts: tables, dialogs). The source of truth: zh/ui.ts must have exactly these keys. */
export default {
  title: 'Shared UI parts',
  table: {
    filterLabel: 'Filter {{label}}',
    filterPlaceholder: 'Filter rows…',
    rowCount: '{{n}} rows',
    oneRow: '1 row',
    filteredCount: '{{shown}} of {{total}} rows',
    loadingMore: 'loading more…',
    noMatch: 'No rows match “{{filter}}”.',
    export: 'Download CSV',
    exportWaits: 'Available once every row has loaded',
  },
  dialog: {
    twoFactor: 'Two-factor code (a fresh one, not used before)',
    twoFactorLabel: 'Two-factor code',
    cancel: 'Cancel',
    working: 'Working…',
  },
} as const;
