export interface CustomersTable {
  id: string;
  merchant_id: string;
  environment: 'sandbox' | 'live';
  external_id: string;
  name: string;
  email: string | null;
  metadata: string; // JSON object of string values
  status: 'active' | 'archived';
  /** Usage before this instant falls in an invoiced period and is refused (reason period_closed). */
  usage_locked_until: string | null;
  auto_created: number;
  created_at: string;
  updated_at: string;
}

export interface CustomerTables {
  customers: CustomersTable;
}
