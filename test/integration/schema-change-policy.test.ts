import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, services, uniqueName } from './support/harness.ts';
import { readDuck } from './support/sink-tables.ts';

type Json = Record<string, unknown>;

/**
 * SCHEMA_CHANGES=block-all: a custom field added after the first sync stays out of the schema, the
 * records and the sink until the rules enable its column; a table added to TABLES after the first session
 * gets no topic until enabled. Enabling takes effect at the next start (the rules come from the settings).
 */
describe('schema-change policy', () => {
  it('block-all: a new custom field and a new table arrive blocked and appear once enabled', { timeout: 240_000 }, async () => {
    const sim = await startSimulator({ seed: 5, deals: 12, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    const prefix = uniqueName('policy');
    const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-policy-')), 'sink.duckdb');
    const base = pipelineEnv(sim, prefix, { TOPIC_PARTITIONS: '1', HISTORY_REBUILD: 'off', DUCKDB_PATH: duckPath, SCHEMA_CHANGES: 'block-all' });
    const logged: string[] = [];
    const produce = async (env: Record<string, string>) => {
      const run = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: (e, f) => void logged.push(`${e} ${JSON.stringify(f ?? {})}`), untilCaughtUp: true });
      await run.done;
    };
    const sinkTables = async () => {
      const sink = await startSink(loadSinkConfig({ ...base, SINK_DESTINATION: 'duckdb' }), { metrics: createMetrics('sink'), log: silentLogger });
      await sink.caughtUp(120_000);
      await sink.stop();
      return readDuck(duckPath);
    };
    const subjectFields = async (subject: string) => {
      const res = await fetch(`${services().registryUrl}/subjects/${subject}/versions/latest`);
      return res.ok ? (JSON.parse(String(((await res.json()) as Json).schema)) as { fields: Array<{ name: string }> }).fields.map((f) => f.name) : undefined;
    };
    try {
      await produce({ ...base, TABLES: 'deal' });

      // A custom field added after the first sync, with a value on a deal.
      const field = await call(sim, 'POST', '/api/v2/dealFields', { field_name: 'Region code', field_type: 'varchar' });
      const deal = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived)!;
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${deal.id}`, { custom_fields: { [String(field.field_code)]: 'REGION-SECRET-77' } });
      sim.clock.advance(1000);
      // person joins TABLES after the first session: a new table.
      await produce({ ...base, TABLES: 'deal,person' });
      expect(await subjectFields(`${prefix}.deal-value`), 'deal schema without the new column').not.toContain('region_code');
      const raw = await readTopic(`${prefix}.deal`, { decode: false });
      expect(raw.some((r) => (r.value as Buffer | null)?.includes('REGION-SECRET-77')), 'the blocked value in a record').toBe(false);
      expect(await subjectFields(`${prefix}.person-value`), 'no person schema while the table is blocked').toBeUndefined();
      expect(logged.some((l) => l.startsWith('table-blocked-by-policy') && l.includes('"table":"person"'))).toBe(true);
      let db = await sinkTables();
      expect(db.get('deal')!.columns).not.toContain('region_code');
      expect(db.has('person')).toBe(false);

      // Enabled: the column is published from the next change of a row, the table is synced.
      const enabled = { ...base, TABLES: 'deal,person', SYNC_RULES: JSON.stringify({ enable: ['deal.region_code', 'person'] }) };
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${deal.id}`, { custom_fields: { [String(field.field_code)]: 'REGION-OPEN-78' } });
      sim.clock.advance(1000);
      await produce(enabled);
      expect(await subjectFields(`${prefix}.deal-value`)).toContain('region_code');
      db = await sinkTables();
      expect(db.get('deal')!.rows.find((r) => Number(r.id) === deal.id)?.region_code).toBe('REGION-OPEN-78');
      expect(db.get('person')!.rows.filter((r) => r._deleted !== true).length).toBe(sim.store.persons.all().filter((p) => p.deletedAtMs === null).length);
    } finally {
      await sim.close();
    }
  });
});

async function call(sim: Simulator, method: string, path: string, body: unknown): Promise<Json> {
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { success: boolean; data: Json };
  if (!res.ok || !json.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
  return json.data;
}
