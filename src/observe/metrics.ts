import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the product exports, declared once: names, help and labels are the contract the Grafana
 * dashboards query. Never put a token or secret in a label.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pipedrive_cdc_process_' });
  const m = {
    registry,
    recordsProduced: new Counter({
      name: 'pipedrive_cdc_records_total',
      help: 'Change records committed to Kafka, by table and op (r, c, u, d); tombstones not counted',
      labelNames: ['table', 'op'] as const,
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'pipedrive_cdc_api_requests_total',
      help: 'Pipedrive API answers by endpoint and HTTP status (0 = no answer)',
      labelNames: ['endpoint', 'status'] as const,
      registers: [registry],
    }),
    apiTokensSpent: new Counter({
      name: 'pipedrive_cdc_api_tokens_spent_total',
      help: 'Pipedrive rate-limit tokens spent (x-token-cost where the API reports it)',
      registers: [registry],
    }),
    apiRateLimitRemaining: new Gauge({
      name: 'pipedrive_cdc_api_burst_remaining',
      help: 'x-ratelimit-remaining of the last answer: requests left in the 2-second burst window',
      registers: [registry],
    }),
    sourceFreshness: new Gauge({
      name: 'pipedrive_cdc_source_freshness_seconds',
      help: 'Seconds between now and the newest source update time published for the table (its cursor)',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    lastPollSuccess: new Gauge({
      name: 'pipedrive_cdc_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last poll pass that reached the end of the table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    pollDuration: new Histogram({
      name: 'pipedrive_cdc_poll_duration_seconds',
      help: 'Duration of one poll (one API page and its transaction)',
      labelNames: ['table'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    transactions: new Counter({
      name: 'pipedrive_cdc_transactions_total',
      help: 'Kafka transactions by result (committed, aborted)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    sinkLag: new Gauge({
      name: 'pipedrive_cdc_sink_lag_records',
      help: 'Log end offset minus the next offset the sink will apply, per topic partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    sinkRows: new Counter({
      name: 'pipedrive_cdc_sink_rows_total',
      help: 'Rows applied to the destination by table and op (tombstones as op "t")',
      labelNames: ['table', 'op'] as const,
      registers: [registry],
    }),
    sinkBatches: new Counter({
      name: 'pipedrive_cdc_sink_batches_total',
      help: 'Destination transactions committed by the sink',
      registers: [registry],
    }),
    endToEndLatency: new Histogram({
      name: 'pipedrive_cdc_end_to_end_latency_seconds',
      help: 'Time from Pipedrive update time to the row being committed in the destination',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400],
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
