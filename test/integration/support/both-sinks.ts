import pg from 'pg';
import { loadProducerConfig, loadSinkConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/observe/log.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { startProducer } from '../../../src/producer.ts';
import { startSink } from '../../../src/sink/sink.ts';
import { services } from './harness.ts';

/** One producer run until caught up, then the DuckDB sink and the PostgreSQL sink, each until caught up. */
export async function syncIntoBothSinks(env: Record<string, string>): Promise<void> {
  const run = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: () => undefined, untilCaughtUp: true });
  await run.done;
  for (const destination of ['duckdb', 'postgres']) {
    const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: destination }), { metrics: createMetrics('sink'), log: silentLogger });
    await sink.caughtUp(120_000);
    await sink.stop();
  }
}

/** Drops the PostgreSQL schemas a test wrote into. */
export async function dropPostgresSchemas(...schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: services().databaseUrl });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}
