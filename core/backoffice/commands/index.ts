import type { AnyCommand } from '../registry.js';
import { auditList, auditVerify } from './audit.js';
import { kybApprove, kybExportDocument, kybList, kybReject, kybRequestInfo, kybShow } from './kyb.js';
import { merchantsList, merchantsReactivate, merchantsSetFee, merchantsShow, merchantsSuspend } from './merchants.js';
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
  staffMe,
  staffList,
  staffAdd,
  staffDisable,
  auditList,
  auditVerify,
] as AnyCommand[];
