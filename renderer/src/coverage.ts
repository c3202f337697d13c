import type { BackOfficeCommandName } from '../../core/backoffice/bridge.js';

/**
 * Where each registry command lives in the UI. A `Record` over the names, so a new command fails
 * the typecheck until it is placed: on a screen, behind the bridge itself, as not yet built (issue 11 is being delivered in
 * slices), or as CLI-only with the reason. test/renderer-coverage.test.ts checks that every
 * command placed on a screen is really called from that screen.
 */
export type Coverage = { screen: string } | { bridge: string } | { notYet: string } | { cliOnly: string };

export const COMMAND_COVERAGE: Record<BackOfficeCommandName, Coverage> = {
  'kyb:list': { screen: 'Kyb' },
  'kyb:approve': { screen: 'Kyb' },
  'kyb:reject': { screen: 'Kyb' },
  'kyb:show': { screen: 'Kyb' },
  'kyb:export-document': { screen: 'Kyb' },
  'kyb:request-info': { screen: 'Kyb' },
  'merchants:list': { screen: 'Merchants' },
  'merchants:show': { screen: 'Merchants' },
  'merchants:suspend': { screen: 'Merchants' },
  'merchants:reactivate': { screen: 'Merchants' },
  'merchants:set-fee': { screen: 'Merchants' },
  'merchants:destination-history': { screen: 'Merchants' },
  'staff:me': { bridge: 'bridge.session() runs it: the shell shows who is signed in' },
  'staff:list': { screen: 'Staff' },
  'staff:add': { screen: 'Staff' },
  'staff:disable': { screen: 'Staff' },
  'audit:list': { screen: 'Audit' },
  'audit:verify': { screen: 'Audit' },
  'ledger:accounts': { screen: 'Ledger' },
  'ledger:balances': { screen: 'Ledger' },
  'ledger:show': { screen: 'Ledger' },
  'ledger:transactions': { screen: 'Ledger' },
  'ledger:verify': { screen: 'Ledger' },
  'fx:set': { screen: 'Fx' },
  'fx:import': { screen: 'Fx' },
  'fx:list': { screen: 'Fx' },
  'invoices:generate': { screen: 'Invoices' },
  'invoices:list': { screen: 'Invoices' },
  'invoices:show': { screen: 'Invoices' },
  'invoices:void': { screen: 'Invoices' },
  'invoices:unbilled': { screen: 'Invoices' },
  'reports:overview': { screen: 'Home' },
  'payments:list': { screen: 'Payments' },
  'payments:exceptions': { screen: 'Payments' },
  'payments:resolve-exception': { screen: 'Payments' },
  'refunds:list': { screen: 'Payments' },
  'refunds:create': { screen: 'Payments' },
  'refunds:retry': { screen: 'Payments' },
  'payments:reconcile': { screen: 'Payments' },
  'sandbox:pay': { screen: 'Payments' },
  'settlement:preview': { screen: 'Settlement' },
  'settlement:close': { screen: 'Settlement' },
  'settlement:list': { screen: 'Settlement' },
  'settlement:show': { screen: 'Settlement' },
  'settlement:approve': { screen: 'Settlement' },
  'settlement:reject': { screen: 'Settlement' },
  'settlement:export': { screen: 'Settlement' },
  'settlement:complete': { screen: 'Settlement' },
  'webhooks:endpoints': { screen: 'Webhooks' },
  'webhooks:deliveries': { screen: 'Webhooks' },
  'webhooks:show': { screen: 'Webhooks' },
  'webhooks:resend': { screen: 'Webhooks' },
};
