import { it } from 'vitest';
import { loadProducerConfig } from '../../../src/config.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { startProducer } from '../../../src/producer.ts';
import { startSimulator } from '../../../src/simulator/server.ts';
it('dbg', async () => {
  const sim = await startSimulator({ seed: 5, deals: 200, rateLimit: { dailyBudget: 10_000_000, burst: 200 } });
  const t0 = Date.now();
  const metrics = createMetrics('producer');
  const run = await startProducer(loadProducerConfig({ PIPEDRIVE_BASE_URL: sim.baseUrl, PIPEDRIVE_API_TOKEN: sim.token, KAFKA_BROKERS: process.env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL, HISTORY_REBUILD: 'changes', TOPIC_PREFIX: 'dbg' + Date.now(), CONNECTOR_NAME: 'dbg' + Date.now() }), { metrics, log: (e, f) => { console.log(Date.now() - t0, e, JSON.stringify(f ?? {}).slice(0, 300)); }, untilCaughtUp: true });
  try { await run.done; } catch (e) { console.log('FAILED', (e as Error).message); }
  const recs = await metrics.recordsProduced.get();
  const by: Record<string, number> = {};
  for (const v of recs.values) by[String(v.labels.table)] = (by[String(v.labels.table)] ?? 0) + v.value;
  console.log('done', Date.now() - t0, JSON.stringify(by));
  console.log(JSON.stringify(sim.requestCount.snapshot()));
  await sim.close();
}, 90_000);
