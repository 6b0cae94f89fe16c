/**
 * Benchmark (not a test): API tokens a full sync of a generated account spends, per 1,000 records, next to
 * what Airbyte's page-50 v1 Recents approach and Singer's page-100 v2 approach would spend on the same
 * account. Real Kafka + registry (started like the demo); the local Pipedrive counts the tokens.
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

  // The peers' read patterns on the same rows: each table read page by page at their page size and price.
  const parentsOf = (t: string) => {
    const spec = catalog.get(t)!;
    const list = 'list' in spec.sync ? spec.sync.list : undefined;
    return list?.forEachParent ? (perTable.get('deal') ?? 0) : 0;
  };
  let airbyte = 0;
  let singer = 0;
  let fanOutRecords = 0;
  let airbyteFanOut = 0;
  let singerFanOut = 0;
  for (const [t, n] of latest) {
    const spec = catalog.get(t)!;
    if (spec.sync.kind === 'child') continue; // read with the parent
    const perParent = parentsOf(t);
    if (perParent > 0) {
      airbyteFanOut += perParent * 20; // one v1 call per deal
      singerFanOut += perParent * (spec.api === 'v2' ? 10 : 20);
      fanOutRecords += n;
      continue;
    }
    airbyte += Math.ceil(n / 50) * 20; // v1 Recents / v1 lists, 50 a page, 20 tokens
    singer += Math.ceil(n / 100) * (spec.api === 'v2' ? 10 : 20); // v2 lists 100 a page (10), v1 lists (20)
  }
  const per1000 = (tokens: number) => ((tokens / records) * 1000).toFixed(1);
  console.log(JSON.stringify({ deals, records, seconds, tokens: stats.tokensSpentTotal, requests: stats.requests }, null, 1));
  console.log(`pipedrive-cdc: ${stats.tokensSpentTotal} tokens for ${records} records = ${per1000(stats.tokensSpentTotal)} per 1,000`);
  const listRecords = records - fanOutRecords;
  const perList = (tokens: number) => ((tokens / listRecords) * 1000).toFixed(1);
  console.log(`Airbyte-style (v1, page 50): ${airbyte + airbyteFanOut} tokens = ${per1000(airbyte + airbyteFanOut)} per 1,000; list tables alone ${perList(airbyte)} per 1,000, per-deal tables ${airbyteFanOut} tokens`);
  console.log(`Singer-style (v2 page 100, v1 page 100): ${singer + singerFanOut} tokens = ${per1000(singer + singerFanOut)} per 1,000; list tables alone ${perList(singer)} per 1,000, per-deal tables ${singerFanOut} tokens`);
  const top = Object.entries(stats.byOperation).sort((a, b) => b[1].tokens - a[1].tokens).slice(0, 8);
  console.log('largest spenders:', top.map(([op, s]) => `${op} ${s.tokens} (${s.requests} calls)`).join(', '));
} finally {
  await sim.close();
  await services.stop();
}
