import type { AnyCommand } from '../registry.js';
import { auditList, auditVerify } from './audit.js';
import { chainReview, chainStatusCommand, chainUnmatched } from './chain.js';
import { fxImport, fxList, fxSet } from './fx.js';
import { invoicesGenerate, invoicesList, invoicesShow, invoicesUnbilled, invoicesVoid } from './invoices.js';
import { ledgerAccounts, ledgerBalancesCommand, ledgerShow, ledgerVerify } from './ledger.js';
import { ledgerTransactions } from './ledger-transactions.js';
import { kybApprove, kybExportDocument, kybList, kybReject, kybRequestInfo, kybShow } from './kyb.js';
import { paymentsExceptions, paymentsList, paymentsReconcile, paymentsResolveException, refundsCreate, refundsList, refundsRetry, sandboxPay } from './payments.js';
import { reportsOverview } from './reports.js';
import { settlementApprove, settlementClose, settlementComplete, settlementExport, settlementList, settlementPreview, settlementReject, settlementShow } from './settlement.js';
import { merchantsDestinationHistory, merchantsList, merchantsReactivate, merchantsSetFee, merchantsShow, merchantsSuspend } from './merchants.js';
import { staffAdd, staffDisable, staffList, staffMe } from './staff.js';
import { webhooksDeliveries, webhooksEndpoints, webhooksResend, webhooksShow } from './webhooks.js';

/**
 * Every back-office command. Adding one: define it in its area's file, list it here. The list keeps
 * each command's own type, so `BackOfficeCommandMap` (and the bridge built on it) cannot drift.
 */
export const backOfficeCommandList = [
  kybList,
  kybShow,
  kybExportDocument,
  kybApprove,
  kybReject,
  kybRequestInfo,
  merchantsList,
  merchantsShow,
  merchantsSuspend,
  merchantsReactivate,
  merchantsSetFee,
  merchantsDestinationHistory,
  staffMe,
  staffList,
  staffAdd,
  staffDisable,
  auditList,
  auditVerify,
  ledgerAccounts,
  ledgerBalancesCommand,
  ledgerShow,
  ledgerTransactions,
  ledgerVerify,
  fxSet,
  fxImport,
  fxList,
  invoicesGenerate,
  invoicesList,
  invoicesShow,
  invoicesVoid,
  invoicesUnbilled,
  reportsOverview,
  paymentsList,
  paymentsExceptions,
  paymentsResolveException,
  refundsList,
  refundsCreate,
  refundsRetry,
  paymentsReconcile,
  sandboxPay,
  settlementPreview,
  settlementClose,
  settlementList,
  settlementShow,
  settlementApprove,
  settlementReject,
  settlementExport,
  settlementComplete,
  webhooksEndpoints,
  webhooksDeliveries,
  webhooksShow,
  webhooksResend,
  chainStatusCommand,
  chainUnmatched,
  chainReview,
] as const;

/** Each command's definition by name, with its schemas' types: the contract the bridge is typed from. */
export type BackOfficeCommandMap = { [C in (typeof backOfficeCommandList)[number] as C['name']]: C };

export const backOfficeCommands: readonly AnyCommand[] = backOfficeCommandList as readonly AnyCommand[];
