/**
 * Benchmark (not a test): API tokens a full first sync of a generated account spends — in all, for the list
 * tables per 1,000 records, and for the per-deal walks (mail, participants, followers) — against the goals
 * of issue 13 (5,000 deals: <= 25,000 tokens; list tables <= 25 per 1,000 records). Real Kafka + registry
 * (started like the demo, or the ones KAFKA_BROKERS / SCHEMA_REGISTRY_URL name); the local Pipedrive counts
 * the tokens at the official x-token-cost of each operation. EXCLUDE_TABLES and TABLES pass through.
 *   node --import tsx bench/tokens.ts [deals]
 */
import { catalog } from '../src/catalog/index.ts';
import { loadProducerConfig } from '../src/config.ts';
import { startServices } from '../src/infra/services.ts';
import { silentLogger } from '../src/observe/log.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import { startProducer } from '../src/producer.ts';
import { startSimulator } from '../src/simulator/server.ts';

const deals = Number(process.argv[2] ?? 5_000);
const services = await startServices({ kafka: true, registry: true });
const sim = await startSimulator({ seed: 3, deals, rateLimit: { dailyBudget: 1e12, burst: 100_000 } });
try {
  const metrics = createMetrics('producer');
  const t0 = Date.now();
  const prefix = `bench${Date.now()}`;
  const run = startProducer(
    loadProducerConfig({
      PIPEDRIVE_BASE_URL: sim.baseUrl,
      PIPEDRIVE_API_TOKEN: sim.token,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      CONNECTOR_NAME: prefix,
      HISTORY_REBUILD: process.env.HISTORY_REBUILD ?? 'off',
      ...(process.env.TABLES ? { TABLES: process.env.TABLES } : {}),
      ...(process.env.EXCLUDE_TABLES ? { EXCLUDE_TABLES: process.env.EXCLUDE_TABLES } : {}),
    }),
    { metrics, log: silentLogger, untilCaughtUp: true },
  );
  await run.done;
  const seconds = (Date.now() - t0) / 1000;
  const stats = sim.rateLimit.stats();
  const perTable = new Map<string, number>();
  for (const v of (await metrics.recordsProduced.get()).values) perTable.set(String(v.labels.table), (perTable.get(String(v.labels.table)) ?? 0) + v.value);
  // Latest-state records only (history/change-log copies are extra output, not extra reads).
  const latest = [...perTable].filter(([t]) => !['history', 'changelog'].includes(catalog.get(t)?.sync.kind ?? ''));
  const records = latest.reduce((n, [, c]) => n + c, 0);

  // Per-deal walks (mail, participants, followers) against the list tables: their records and their calls.
  const perDealTable = (t: string): boolean => {
    const spec = catalog.get(t)!;
    const owner = spec.sync.kind === 'child' ? catalog.get(spec.sync.parent)! : spec;
    const list = 'list' in owner.sync ? owner.sync.list : undefined;
    return list?.forEachParent?.counters !== undefined && list.forEachParent.batch === undefined;
  };
  const perDealOps = ['getDealMailMessages', 'getDealParticipants', 'getDealFollowers'];
  const perDealTokens = perDealOps.reduce((n, op) => n + (stats.byOperation[op]?.tokens ?? 0), 0);
  const listRecords = latest.filter(([t]) => !perDealTable(t)).reduce((n, [, c]) => n + c, 0);
  const listTokens = stats.tokensSpentTotal - perDealTokens;
  const per1000 = (tokens: number, n: number) => ((tokens / n) * 1000).toFixed(1);
  console.log(JSON.stringify({ deals, records, seconds, tokens: stats.tokensSpentTotal, requests: stats.requests }, null, 1));
  console.log(`pipedrive-cdc: ${stats.tokensSpentTotal} tokens for ${records} records = ${per1000(stats.tokensSpentTotal, records)} per 1,000 (goal for 5,000 deals: <= 25,000, ratio ${(stats.tokensSpentTotal / 25_000).toFixed(2)})`);
  console.log(`list tables: ${listTokens} tokens for ${listRecords} records = ${per1000(listTokens, listRecords)} per 1,000 (goal <= 25, ratio ${(listTokens / listRecords / 0.025).toFixed(2)})`);
  console.log(`per-deal walks: ${perDealTokens} tokens (${perDealOps.map((op) => `${op} ${stats.byOperation[op]?.tokens ?? 0} in ${stats.byOperation[op]?.requests ?? 0} calls`).join(', ')})`);
  const without = stats.tokensSpentTotal - (stats.byOperation['getDealParticipants']?.tokens ?? 0) - (stats.byOperation['getDealFollowers']?.tokens ?? 0);
  console.log(`Fivetran's table set (without deal_participant, deal_follower): ${without} tokens`);
  const top = Object.entries(stats.byOperation).sort((a, b) => b[1].tokens - a[1].tokens).slice(0, 12);
  console.log('by operation:', top.map(([op, s]) => `${op} ${s.tokens} (${s.requests} calls)`).join(', '));
} finally {
  await sim.close();
  await services.stop();
}
