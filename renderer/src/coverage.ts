import type { BackOfficeCommandName } from '../../core/backoffice/bridge.js';

/**
 * Where each registry command lives in the UI. A `Record` over the names, so a new command fails
 * the typecheck until it is placed: on a screen, behind the bridge itself, as not yet built (issue 11 is being delivered in
 * slices), or as CLI-only with the reason. test/renderer-coverage.test.ts checks that every
 * command placed on a screen is really called from that screen.
 */
export type Coverage = { screen: string } | { bridge: string } | { notYet: string } | { cliOnly: string };

const LATER = 'screen still to come in issue 11';

export const COMMAND_COVERAGE: Record<BackOfficeCommandName, Coverage> = {
  'kyb:list': { screen: 'Kyb' },
  'kyb:approve': { screen: 'Kyb' },
  'kyb:reject': { screen: 'Kyb' },
  'kyb:show': { notYet: `${LATER}: KYB detail with documents` },
  'kyb:export-document': { notYet: `${LATER}: KYB documents viewable` },
  'kyb:request-info': { notYet: `${LATER}: KYB detail` },
  'merchants:list': { notYet: `${LATER}: merchants` },
  'merchants:show': { notYet: `${LATER}: merchants` },
  'merchants:suspend': { notYet: `${LATER}: merchants` },
  'merchants:reactivate': { notYet: `${LATER}: merchants` },
  'merchants:set-fee': { notYet: `${LATER}: merchants` },
  'merchants:destination-history': { notYet: `${LATER}: merchants` },
  'staff:me': { bridge: 'bridge.session() runs it: the shell shows who is signed in' },
  'staff:list': { notYet: `${LATER}: staff` },
  'staff:add': { notYet: `${LATER}: staff` },
  'staff:disable': { notYet: `${LATER}: staff` },
  'audit:list': { notYet: `${LATER}: audit log` },
  'audit:verify': { notYet: `${LATER}: audit log` },
  'ledger:accounts': { notYet: `${LATER}: ledger explorer (accounts)` },
  'ledger:balances': { screen: 'Ledger' },
  'ledger:show': { notYet: `${LATER}: ledger explorer (transactions)` },
  'ledger:verify': { screen: 'Ledger' },
  'fx:set': { screen: 'Fx' },
  'fx:import': { notYet: `${LATER}: FX CSV import with a progress bar` },
  'fx:list': { screen: 'Fx' },
  'invoices:generate': { screen: 'Invoices' },
  'invoices:list': { screen: 'Invoices' },
  'invoices:show': { screen: 'Invoices' },
  'invoices:void': { notYet: `${LATER}: void from the invoice detail` },
  'invoices:unbilled': { notYet: `${LATER}: unbilled usage per merchant` },
};
