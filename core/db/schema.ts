/**
 * The typed shape of the database, composed from each module's own tables. Column names are
 * snake_case as stored; money and quantities are TEXT (decimal strings), times ISO-8601 UTC TEXT,
 * booleans INTEGER 0/1, JSON documents TEXT.
 */
import type { AuditTables } from '../audit/tables.js';
import type { ChainTables } from '../chain/tables.js';
import type { CatalogTables } from '../catalog/tables.js';
import type { ContractTables } from '../contracts/tables.js';
import type { CustomerTables } from '../customers/tables.js';
import type { EventTables } from '../events/tables.js';
import type { FxTables } from '../fx/tables.js';
import type { RateLimitTables } from '../rate-limits/tables.js';
import type { InvoiceTables } from '../invoices/tables.js';
import type { LedgerTables } from '../ledger/tables.js';
import type { MerchantTables } from '../merchants/tables.js';
import type { PaymentTables } from '../payments/tables.js';
import type { SettlementTables } from '../settlement/tables.js';
import type { StaffTables } from '../staff/tables.js';
import type { UsageTables } from '../usage/tables.js';
import type { WebhookTables } from '../webhooks/tables.js';

export interface Database
  extends MerchantTables,
    CustomerTables,
    UsageTables,
    StaffTables,
    AuditTables,
    CatalogTables,
    ContractTables,
    LedgerTables,
    EventTables,
    FxTables,
    InvoiceTables,
    RateLimitTables,
    PaymentTables,
    SettlementTables,
    WebhookTables,
    ChainTables {}
