import type { Environment } from '../context/index.js';

export interface DomainEventsTable {
  id: string; // event_<ULID> (usage events own evt_)
  type: string;
  merchant_id: string;
  environment: Environment;
  created_at: string;
  data: string; // JSON: the object as the API returns it
}

export interface EventTables {
  domain_events: DomainEventsTable;
}
