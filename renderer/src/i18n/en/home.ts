/**
 * English strings of the "home" namespace. The source of truth: zh/home.ts must have exactly these keys.
 * The attention cards are links: their words avoid the navigation's names (tests find those links by name).
 */
export default {
  title: 'Home',
  environment: 'Figures for',
  live: 'live',
  sandbox: 'sandbox',
  loading: 'the overview',
  asOf: 'As of {{at}}. Figures cover the last 12 months that are over, counting each invoice in the month its billing period starts.',
  seriesForFinance: 'Monthly usage and invoiced amounts are shown to finance and admins.',
  attention: {
    title: 'Needs attention',
    kinds: {
      kyb_pending_review: {
        label: 'KYB submissions waiting for review',
        clear: 'Nothing waiting.',
        oldest: 'Oldest submitted {{at}} ({{days}} d ago)',
        go: 'Review them',
      },
      kyb_info_requested: {
        label: 'KYB: information requested',
        clear: 'No open requests.',
        oldest: 'Waiting on the merchant since {{at}} ({{days}} d)',
        go: 'See the requests',
      },
      invoice_periods_overdue: {
        label: 'Billing periods not invoiced',
        clear: 'Every ended period is invoiced.',
        oldest: 'Oldest ended {{at}}: the run failed for it or is not running',
        go: 'Run the billing job',
      },
    },
    settlement: {
      label: 'Payout batches awaiting approval',
      clear: 'No batch is waiting for approval.',
      oldest: 'Oldest closed {{at}} ({{days}} d ago)',
      half: '; {{half}} already approved once, waiting for a second admin',
      go: 'Review and approve',
    },
    webhooks: {
      label: 'Merchant webhook endpoints failing',
      clear: 'Every endpoint is answering.',
      oldest: 'Failing since {{at}} ({{days}} d); {{disabled}} disabled',
      go: 'See the failed deliveries',
      list: 'Failing webhook endpoints',
      since: 'since {{at}}',
      disabled: 'disabled: {{reason}}',
      reasons: { gone: '410 Gone', failing: 'failing for 5 days', merchant: 'by the merchant' },
      deliveries: 'Deliveries →',
    },
  },
  invoiced: {
    title: 'Invoiced per month',
    currency: 'Pricing currency',
    count: '{{n}} invoices',
    total: 'in {{n}} {{environment}} invoices over 12 months (void left out)',
    chartLabel: 'Invoiced amounts per month in {{currency}}',
    empty: 'No invoices in the last 12 months yet. They appear here as billing periods end and are invoiced.',
  },
  usage: {
    title: 'Usage per month (as invoiced)',
    metric: 'Metric',
    metrics: {
      tokens_input: 'Input tokens',
      tokens_output: 'Output tokens',
      image_generation: 'Images',
      agent_run: 'Agent runs',
      storage_gb: 'Storage GB',
    },
    total: '{{metric}} over 12 months',
    chartLabel: 'Usage per month: {{metric}}',
    empty: 'No invoiced usage yet. Usage shows here once its billing period is invoiced.',
  },
} as const;
