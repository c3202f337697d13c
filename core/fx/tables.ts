export interface FxRatesTable {
  id: string; // fxr_<ULID>
  base: string;
  quote: string;
  rate: string;
  effective_at: string;
  source: string;
  entered_by: string | null;
  import_batch: string | null;
  created_at: string;
}

export interface FxTables {
  fx_rates: FxRatesTable;
}
