import type { AnyCommand } from '../registry.js';
import { auditList, auditVerify } from './audit.js';
import { fxImport, fxList, fxSet } from './fx.js';
import { invoicesGenerate, invoicesList, invoicesShow, invoicesUnbilled, invoicesVoid } from './invoices.js';
import { ledgerAccounts, ledgerBalancesCommand, ledgerShow, ledgerVerify } from './ledger.js';
import { kybApprove, kybExportDocument, kybList, kybReject, kybRequestInfo, kybShow } from './kyb.js';
import { merchantsDestinationHistory, merchantsList, merchantsReactivate, merchantsSetFee, merchantsShow, merchantsSuspend } from './merchants.js';
import { staffAdd, staffDisable, staffList, staffMe } from './staff.js';

/** Every back-office command. Adding one: define it in its area's file, list it here. */
export const backOfficeCommands: readonly AnyCommand[] = [
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
  ledgerVerify,
  fxSet,
  fxImport,
  fxList,
  invoicesGenerate,
  invoicesList,
  invoicesShow,
  invoicesVoid,
  invoicesUnbilled,
] as AnyCommand[];
