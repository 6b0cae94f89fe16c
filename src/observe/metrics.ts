import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the product exports, declared once: names, help and labels are the contract the Grafana
 * dashboards query. Never put a token or secret in a label. Producer families carry the `connector`
 * label (one process can run several connectors, one per Pipedrive company).
 */
export function createMetrics(role: 'producer' | 'sink' | 'both' = 'both') {
  const registry = new Registry();
  // Each process exports only its own families; the other side's objects exist but are not registered.
  const producer = role === 'sink' ? [] : [registry];
  const sink = role === 'producer' ? [] : [registry];
  collectDefaultMetrics({ register: registry, prefix: 'pipedrive_cdc_process_' });
  const m = {
    registry,
    retries: new Counter({
      name: 'pipedrive_cdc_retries_total',
      help: 'Transient failures waited out and retried, by the dependency that failed (pipedrive, kafka, registry, database)',
      labelNames: ['connector', 'dependency'] as const,
      registers: [registry],
    }),
    recordsProduced: new Counter({
      name: 'pipedrive_cdc_records_total',
      help: 'Change records committed to Kafka, by table and op (r, c, u, d); tombstones not counted',
      labelNames: ['connector', 'table', 'op'] as const,
      registers: producer,
    }),
    apiRequests: new Counter({
      name: 'pipedrive_cdc_api_requests_total',
      help: 'Pipedrive API answers by endpoint and HTTP status (0 = no answer)',
      labelNames: ['connector', 'endpoint', 'status'] as const,
      registers: producer,
    }),
    apiTokensSpent: new Counter({
      name: 'pipedrive_cdc_api_tokens_spent_total',
      help: 'Pipedrive rate-limit tokens spent (x-token-cost where the API reports it)',
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    apiRateLimitRemaining: new Gauge({
      name: 'pipedrive_cdc_api_burst_remaining',
      help: 'x-ratelimit-remaining of the last answer: requests left in the 2-second burst window',
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    apiDailyTokensRemaining: new Gauge({
      name: 'pipedrive_cdc_api_daily_tokens_remaining',
      help: "x-daily-ratelimit-token-remaining of the last answer: the company's API tokens left today",
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    pollIntervalEffective: new Gauge({
      name: 'pipedrive_cdc_poll_interval_effective_seconds',
      help: 'The wait after the last steady-state round: POLL_INTERVAL_MS, stretched by the token budget share (TOKEN_BUDGET_SHARE), longer while the daily budget is low',
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    incrementalTokensWindow: new Gauge({
      name: 'pipedrive_cdc_api_tokens_incremental_last_day',
      help: 'API tokens the incremental work (steady-state passes, daily re-imports and id scans, field catalogs, hinted passes; not first syncs, backfills or re-syncs) spent in the last 24 hours',
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    tokenShareDaily: new Gauge({
      name: 'pipedrive_cdc_api_token_share_per_day',
      help: 'Tokens a day the incremental work may spend: TOKEN_BUDGET_SHARE of the daily budget (x-daily-ratelimit-token-limit, else DAILY_TOKEN_BUDGET); 0 while no budget is known (no pacing)',
      labelNames: ['connector'] as const,
      registers: producer,
    }),
    sourceFreshness: new Gauge({
      name: 'pipedrive_cdc_source_freshness_seconds',
      help: 'Seconds since the start of the last poll pass that reached the end of the table: every change older than this is in Kafka',
      labelNames: ['connector', 'table'] as const,
      registers: producer,
    }),
    lastPollSuccess: new Gauge({
      name: 'pipedrive_cdc_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last poll pass that reached the end of the table',
      labelNames: ['connector', 'table'] as const,
      registers: producer,
    }),
    tableFailing: new Gauge({
      name: 'pipedrive_cdc_table_failing',
      help: '1 while a table is not synced because of an error (waiting out a Pipedrive outage, or failed: see the table-failed log line), else 0',
      labelNames: ['connector', 'table'] as const,
      registers: producer,
    }),
    deletesRefused: new Gauge({
      name: 'pipedrive_cdc_deletes_refused',
      help: '1 while the delete guard holds back a pass that would delete more than DELETE_GUARD_MAX_SHARE of the table (see the mass-delete-refused log line), else 0',
      labelNames: ['connector', 'table'] as const,
      registers: producer,
    }),
    pollDuration: new Histogram({
      name: 'pipedrive_cdc_poll_duration_seconds',
      help: 'Duration of one poll (one API page and its transaction)',
      labelNames: ['connector', 'table'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: producer,
    }),
    transactions: new Counter({
      name: 'pipedrive_cdc_transactions_total',
      help: 'Kafka transactions by result (committed, aborted)',
      labelNames: ['connector', 'result'] as const,
      registers: producer,
    }),
    webhooksReceived: new Counter({
      name: 'pipedrive_cdc_webhooks_received_total',
      help: 'Pipedrive webhooks accepted as change hints, by table and action (create, change, delete)',
      labelNames: ['connector', 'table', 'action'] as const,
      registers: producer,
    }),
    webhooksRefused: new Counter({
      name: 'pipedrive_cdc_webhooks_refused_total',
      help: 'Webhook requests refused, by reason (credentials: missing or wrong basic auth; unknown_webhook: not a webhook of this connector; malformed: not a v2 webhook body; method: not a POST)',
      labelNames: ['connector', 'reason'] as const,
      registers: producer,
    }),
    webhookChangeToKafka: new Histogram({
      name: 'pipedrive_cdc_webhook_change_to_kafka_seconds',
      help: 'From a change (the webhook meta.timestamp) to the end of the pass it triggered, its records committed in Kafka; by the table polled',
      labelNames: ['connector', 'table'] as const,
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
      registers: producer,
    }),
    sinkLag: new Gauge({
      name: 'pipedrive_cdc_sink_lag_records',
      help: 'Log end offset minus the next offset the sink will apply, per topic partition',
      labelNames: ['topic', 'partition'] as const,
      registers: sink,
    }),
    sinkRows: new Counter({
      name: 'pipedrive_cdc_sink_rows_total',
      help: 'Rows applied to the destination by table and op (tombstones as op "t")',
      labelNames: ['table', 'op'] as const,
      registers: sink,
    }),
    sinkBatches: new Counter({
      name: 'pipedrive_cdc_sink_batches_total',
      help: 'Destination transactions committed by the sink',
      registers: sink,
    }),
    sinkOffsetConflicts: new Counter({
      name: 'pipedrive_cdc_sink_offset_conflicts_total',
      help: 'Batches not applied because the destination already held a later offset for the partition (another sink instance applied the range first); the sink continued from the stored offset',
      registers: sink,
    }),
    endToEndLatency: new Histogram({
      name: 'pipedrive_cdc_end_to_end_latency_seconds',
      help: 'Time from Pipedrive update time to the row being committed in the destination',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400],
      registers: sink,
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
