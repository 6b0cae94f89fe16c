import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { catalog, tableByName } from '../../src/catalog/index.ts';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { FieldSightings, snake } from './support/custom-columns.ts';
import { canonicalSinkRow, expectedTables, keyOf } from './support/expected.ts';
import { expectSinkTables, readDuck, type DbRow } from './support/sink-tables.ts';
import { pipelineEnv, readTopic, services, uniqueName } from './support/harness.ts';
import { workload } from './support/workload.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The differential test: a seeded random workload of creates, updates (several within one second), deletes,
 * custom fields added and renamed, and clock jumps past a day and past 30 days, across every table the local
 * Pipedrive can write, interleaved with syncs. Afterwards every latest-state table in the sink equals the
 * local Pipedrive row for row and column for column, deleted rows are marked deleted, and the history
 * tables hold consistent type-2 versions. The expected rows come from the local Pipedrive's store, mapped
 * by the test's own code (support/expected.ts, support/custom-columns.ts), not from the product's parsing.
 */
describe.each([1, 2, 3])('differential sync, seed %i', (seed) => {
  it('every table in the sink equals the source after a random workload', { timeout: 300_000 }, async () => {
    const sim = await startSimulator({ seed, deals: 30, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    const prefix = uniqueName(`diff${seed}`);
    const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-diff-')), 'sink.duckdb');
    const env = pipelineEnv(sim, prefix, { TOPIC_PARTITIONS: '2', HISTORY_REBUILD: 'all', DUCKDB_PATH: duckPath });
    /** Every custom field with its name when the producer first read the field catalogs after it existed. */
    const sightings = new FieldSightings();
    let work: ReturnType<typeof workload> | undefined;
    // Where the time went, for a failure near the test's timeout: a stall shows as one long phase, an
    // overloaded machine as many slow ones.
    const t0 = Date.now();
    const timeline: string[] = [];
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const at = Date.now();
      if (at - t0 > 270_000) throw new Error(`near the 300 s timeout before ${name}; phases (s): ${timeline.join(' ')}`);
      try {
        return await fn();
      } finally {
        timeline.push(`${name}:${((Date.now() - at) / 1000).toFixed(1)}`);
      }
    };
    const produce = () => phase('produce', produceOnce);
    // A phase that itself runs into the timeout: its predecessors are printed before vitest stops the test.
    const lastWords = setTimeout(() => console.error(`differential seed ${seed}: phases so far (s): ${timeline.join(' ')}`), 295_000);
    const produceOnce = async () => {
      // A sync that keeps finding changes never catches up: fail with the tables it kept publishing.
      const recent: string[] = [];
      const log = (e: string, f?: Record<string, unknown>) => {
        if (e === 'batch-committed') recent.push(`${String(f?.table)}:${String(f?.records)}`);
        if (recent.length > 40) recent.shift();
        if (process.env.DIFF_DEBUG) console.log(e, JSON.stringify(f));
      };
      let run: Awaited<ReturnType<typeof startProducer>> | undefined;
      const sync = (async () => {
        run = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log, untilCaughtUp: true });
        await run.done;
        return true;
      })();
      const settled = await Promise.race([sync, new Promise<boolean>((r) => setTimeout(() => r(false), 90_000))]);
      if (!settled) {
        await run?.stop();
        throw new Error(`the producer did not ${run ? 'catch up' : 'start'} in 90 s; last batches: ${recent.join(' ')}`);
      }
      sightings.observe(sim.store.fields);
    };
    try {
      await produce();
      work = workload(sim, seed);
      for (let step = 1; step <= 60; step++) {
        await work.step();
        // A field added before a sync and renamed after it: its column must keep the first name.
        if (step % 10 === 5) {
          // A sync between two changes of one deal within one second: both versions must arrive.
          const again = await work.updateDealTwice();
          await produce();
          await again();
        }
        if (step === 15) await work.addCustomField();
        if (step === 17) await work.renameLastCustomField();
        sim.clock.advance(1000 + (step % 3) * 700);
        if (step === 20) sim.clock.advance(25 * HOUR); // past a day: daily re-imports and id scans
        if (step === 40) sim.clock.advance(31 * DAY); // past Recents' window and the 30-day purge
        if (step % 8 === 0) await produce();
      }
      sim.clock.advance(25 * HOUR); // let every daily table re-import once more
      await produce();

      await phase('sink', async () => {
        const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: 'duckdb' }), { metrics: createMetrics('sink'), log: silentLogger });
        await sink.caughtUp(120_000);
        await sink.stop();
      });
      const db = await readDuck(duckPath);

      // Latest-state tables: live rows equal the source, column for column; deleted rows are marked.
      const expected = await expectedTables(sim, sightings);
      const latestState = [...catalog.values()].filter((t) => !['history', 'changelog'].includes(t.sync.kind)).map((t) => t.name);
      expect([...expected.keys()].sort(), 'latest-state tables the oracle covers').toEqual(latestState.sort());
      const compared = expectSinkTables(db, expected);
      if (process.env.DIFF_ORACLE_DEBUG) console.log('oracle', compared, [...expected].map(([t, w]) => `${t}:${w.rows.size}x${w.columns.length}`).join(' '));
      expect(compared).toBeGreaterThan(1000);
      for (const [table, keys] of work.deleted) {
        const want = expected.get(table)!;
        const stored = new Map((db.get(table)?.rows ?? []).map((r) => [keyOf(want, canonicalSinkRow(want, r)), r]));
        const idType = want.columns.find((c) => c.name === want.primaryKey[0])!.type;
        for (const id of keys) {
          const key = keyOf(want, { [want.primaryKey[0]!]: idType === 'long' ? Number(id) : id });
          expect(stored.get(key)?._deleted, `${table} ${key} deleted`).toBe(true);
        }
      }

      // Custom fields keep the column name of their first sight, whatever they were renamed to.
      expect(work.customFields.length, 'custom fields added by the workload').toBeGreaterThan(0);
      for (const f of work.customFields) {
        const cols = db.get(f.entity)?.columns ?? [];
        const seen = sightings.nameAtSight(f.entity as 'deal' | 'person', f.key)!;
        expect(cols, `${f.entity}: column of ${seen} (${f.key})`).toContain(snake(seen));
        if (f.name !== seen) expect(cols, `${f.entity}: renamed ${seen} → ${f.name}`).not.toContain(snake(f.name));
      }
      const renamedAfterSight = work.customFields.filter((f) => f.name !== sightings.nameAtSight(f.entity as 'deal' | 'person', f.key));

      expect(renamedAfterSight.length, 'custom fields renamed after the producer saw them').toBeGreaterThan(0);
      await checkEveryTopicDecodes(prefix, [...expected.keys(), 'deal_history', 'deal_change', 'lead_history', 'lead_label_history']);
      await checkSchemaEvolution(`${prefix}.${work.customFields.at(-1)!.entity}`);
      checkHistory(db.get('deal_history')?.rows ?? [], sim);
      checkTypeTwo(db.get('lead_history')?.rows ?? [], ['id']);
      checkTypeTwo(db.get('lead_label_history')?.rows ?? [], ['id']);
    } finally {
      clearTimeout(lastWords);
      await sim.close();
    }
  });
});

/** Type-2 invariants: per key, versions chain (end = next start − 1 ms), one active at most, the last open unless deleted. */
function checkTypeTwo(rows: readonly DbRow[], key: readonly string[]): Map<string, DbRow[]> {
  const byKey = new Map<string, DbRow[]>();
  for (const r of rows) {
    const k = JSON.stringify(key.map((c) => String(r[c])));
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  for (const [k, versions] of byKey) {
    versions.sort((a, b) => (a._start as Date).getTime() - (b._start as Date).getTime());
    for (let i = 0; i + 1 < versions.length; i++) {
      expect((versions[i]!._end as Date).getTime(), `${k} version ${i} ends before the next`).toBe((versions[i + 1]!._start as Date).getTime() - 1);
      expect(versions[i]!._active, `${k} version ${i} inactive`).toBe(false);
    }
    const last = versions.at(-1)!;
    expect(last._active, `${k} last version`).toBe(last._deleted !== true);
  }
  return byKey;
}

/**
 * deal_history holds every version the local Pipedrive recorded: one per second in which the deal was
 * created or changed (several changes in a second collapse), with the title it had then.
 */
function checkHistory(rows: readonly DbRow[], sim: Simulator): void {
  const byKey = checkTypeTwo(rows, ['id']);
  expect(byKey.size).toBeGreaterThan(0);
  let checked = 0;
  for (const [k, versions] of byKey) {
    const id = Number(JSON.parse(k)[0]);
    const events = sim.store.journal.of('deal', id);
    if (events.length === 0 || events[0]!.action !== 'add') continue; // seeded deals have no recorded past
    // The title after each second's changes, from the journal's field-level diffs.
    const expected = new Map<number, string>();
    let title: unknown = null;
    let deletedAt: number | null = null;
    for (const e of events) {
      for (const c of e.changes) if (c.field === 'title') title = c.newValue;
      const second = Math.floor(e.timeMs / 1000) * 1000;
      if (e.action === 'delete') deletedAt = second;
      else expected.set(second, String(title));
    }
    const got = new Map(versions.map((v) => [(v._start as Date).getTime(), String(v.title)]));
    expect(got, `deal ${id} versions`).toEqual(expected);
    if (deletedAt !== null) expect((versions.at(-1)!._end as Date).getTime(), `deal ${id} ends at its delete`).toBe(deletedAt);
    checked++;
  }
  expect(checked, 'deals created during the workload').toBeGreaterThan(0);
}

/**
 * Custom fields evolved the deal value schema: every version was accepted under BACKWARD, and a consumer
 * still on the first version decodes the newest records (the added fields are simply not in its view).
 */
async function checkSchemaEvolution(topic: string): Promise<void> {
  const registry = services().registryUrl;
  const subject = `${topic}-value`;
  const get = async (path: string) => (await fetch(`${registry}${path}`)).json() as Promise<Record<string, unknown>>;
  const versions = (await (await fetch(`${registry}/subjects/${subject}/versions`)).json()) as number[];
  expect(versions.length, `${subject} versions`).toBeGreaterThan(1);
  expect((await get(`/config/${subject}`)).compatibilityLevel).toBe('BACKWARD');
  const first = avro.Type.forSchema(JSON.parse(String((await get(`/subjects/${subject}/versions/${versions[0]}`)).schema)) as avro.Schema);
  const latest = await get(`/subjects/${subject}/versions/latest`);
  const writer = avro.Type.forSchema(JSON.parse(String(latest.schema)) as avro.Schema);
  const records = (await readTopic(topic, { decode: false })).filter((r) => r.value !== null && (r.value as Buffer).readInt32BE(1) === latest.id);
  expect(records.length, 'records written with the newest schema').toBeGreaterThan(0);
  const resolver = first.createResolver(writer);
  for (const r of records) {
    const old = first.fromBuffer((r.value as Buffer).subarray(5), resolver) as Record<string, unknown>;
    expect(typeof old.id).toBe('number');
    expect(Object.keys(old)).toEqual((first as avro.types.RecordType).fields.map((f) => f.name));
  }
}

/** Every table's topic, read by a plain kafkajs consumer and decoded with the registry client: keys are records, values records or null. */
async function checkEveryTopicDecodes(prefix: string, tables: readonly string[]): Promise<void> {
  let decoded = 0;
  for (const table of tables) {
    const spec = tableByName(table);
    const records = await readTopic(`${prefix}.${table}`);
    const history = spec.sync.kind === 'history';
    for (const r of records) {
      // History keys hold the version time too (every version its own key).
      expect(Object.keys(r.key as object), `${table} key`).toEqual([...spec.primaryKey, ...(history ? ['__source_ts_ms'] : [])]);
      if (history) expect((r.key as { __source_ts_ms: unknown }).__source_ts_ms, `${table} key time`).toEqual((r.value as { __source_ts_ms: unknown }).__source_ts_ms);
      if (r.value !== null) expect(typeof (r.value as { __op: unknown }).__op, `${table} value`).toBe('string');
      decoded++;
    }
  }
  expect(decoded, "records decoded across all topics").toBeGreaterThan(500);
}
