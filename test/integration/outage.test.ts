// Outages of the real services while the producer (`run`) and the DuckDB sink run as processes and the
// local Pipedrive keeps changing: Kafka SIGKILLed for 60 s, the schema registry SIGKILLed or frozen
// (SIGSTOP: connections accepted, nothing answered) for 30 s. Neither process may exit; once the service
// is back and the changes stop, everything catches up: the sink's deal table equals the source, no deal
// version is in the topic twice (read_committed, plain consumer), and both logs tell the outage story
// (`retrying` naming the dependency, then `recovered`).
//
// The broker and registry are dedicated to this file (only our own processes can be killed): a local
// Kafka and an Apicurio with file storage, so that a restart keeps topics, transactions and schema ids.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { startKafka, type LocalKafka } from '../../src/infra/kafka.ts';
import { startRegistry, type LocalRegistry } from '../../src/infra/registry.ts';
import type { Dependency } from '../../src/retry.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { canonicalRows } from './support/compare.ts';
import { pipelineEnv, runCli, uniqueName, type CliRun } from './support/harness.ts';
import { duplicateVersions, explained, lastLines, retryStory, sinkApplied, startDealChanges, tombstoneOffsets, waitCaughtUp, whileAlive, type Endpoints } from './support/outage.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

const KAFKA_DOWN_MS = 60_000;
const REGISTRY_DOWN_MS = 30_000;
/** How long the changes go on before the outage and after the service is back. */
const STEADY_MS = 3_000;
const CHANGE_EVERY_MS = 150;
const CATCH_UP_MS = 60_000;

let kafka: LocalKafka;
let registry: LocalRegistry;
let sim: Simulator;
let endpoints: Endpoints;
const started: CliRun[] = [];
const workloads: Array<{ stop(): Promise<number> }> = [];

beforeAll(async () => {
  const [k, r, s] = await Promise.allSettled([startKafka(), startRegistry({ storage: 'file' }), startSimulator({ seed: 29, deals: 300 })]);
  if (k.status === 'fulfilled') kafka = k.value;
  if (r.status === 'fulfilled') registry = r.value;
  if (s.status === 'fulfilled') sim = s.value;
  for (const x of [k, r, s]) if (x.status === 'rejected') throw x.reason;
  endpoints = { brokers: kafka.brokers, registryUrl: registry.url };
});
afterEach(async () => {
  // A failed scenario must not leave its processes running into the next one.
  for (const r of started.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const w of workloads.splice(0)) await w.stop().catch(() => undefined);
  // …nor its outage: a scenario that failed mid-way left the service down.
  if (kafka?.state === 'killed') await kafka.restart();
  if (registry?.state === 'paused') registry.resume();
  if (registry?.state === 'killed') await registry.restart();
});
afterAll(async () => {
  await Promise.all([kafka?.stop(), registry?.stop(), sim?.close()]);
});

function changeDeals(seed: number, leaveAlone?: ReadonlySet<number>) {
  const w = startDealChanges(sim, seed, CHANGE_EVERY_MS, { leaveAlone });
  workloads.push(w);
  return w;
}

/** Producer and sink of a fresh connector, against the dedicated broker and registry; resolves once the sink applied the snapshot. */
async function startPipeline(name: string): Promise<{ producer: CliRun; sink: CliRun; topic: string; dir: string; duckPath: string; runs: Record<string, CliRun> }> {
  const prefix = uniqueName(name);
  const dir = mkdtempSync(join(tmpdir(), 'pcdc-outage-'));
  const duckPath = join(dir, 'sink.duckdb');
  const env = {
    ...pipelineEnv(sim, prefix),
    KAFKA_BROKERS: kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: registry.url,
    TABLES: 'deal',
    HISTORY_REBUILD: 'off',
    POLL_INTERVAL_MS: '200',
    TOPIC_PARTITIONS: '2',
    METRICS_PORT: '0',
    SINK_METRICS_PORT: '0',
    SINK_SESSION_TIMEOUT_MS: '10000',
    DUCKDB_PATH: duckPath,
    PIPEDRIVE_CDC_FAILPOINT: '',
  };
  const topic = `${prefix}.deal`;
  const producer = runCli(['run'], env);
  started.push(producer);
  await producer.waitForLine((l) => l.event === 'batch-committed', 60_000);
  const sink = runCli(['sink'], env);
  started.push(sink);
  await sink.waitForLine((l) => l.event === 'batch-applied' && l.topic === topic, 60_000);
  return { producer, sink, topic, dir, duckPath, runs: { producer, sink } };
}

/** The deal table of a DuckDB file (once the sink has closed it). */
async function duckDeals(path: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll('SELECT * FROM deal')).getRowObjectsJS() as Array<Record<string, unknown>>;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * The common second half: changes go on a while with the service back, then stop; everything catches
 * up; both processes end cleanly on SIGTERM. Then the checks, soft so that one run reports every one
 * that fails: no version repeats, the sink's table equals the source, both logs tell the outage story.
 */
async function expectRecovery(p: Awaited<ReturnType<typeof startPipeline>>, changes: { stop(): Promise<number> }, dependency: Dependency, sinkMustRetry: string | false) {
  await whileAlive(STEADY_MS, p.runs, `after ${dependency} came back`);
  const steps = await changes.stop();
  const records = await waitCaughtUp({ sim, topic: p.topic, endpoints, runs: p.runs, sink: p.sink, timeoutMs: CATCH_UP_MS });
  for (const r of [p.producer, p.sink]) r.child.kill('SIGTERM');
  const exits = { producer: await p.producer.exit, sink: await p.sink.exit };
  expect(exits, `both stop cleanly on SIGTERM\n${lastLines(p.runs)}`).toEqual({ producer: 0, sink: 0 });

  expect.soft(duplicateVersions(records), `no deal version twice in ${p.topic}`).toEqual([]);
  const source = await listAllDeals(sim.baseUrl, sim.token);
  const rows = await duckDeals(p.duckPath);
  expect.soft(canonicalRows(deal, rows), 'the sink\'s deal table equals the local Pipedrive').toEqual(canonicalRows(deal, source));

  const producerStory = retryStory(p.producer.lines, dependency);
  const sinkStory = retryStory(p.sink.lines, dependency);
  console.log(`[outage] ${dependency} (logs in ${p.dir}): ${steps} change steps, ${records.length} committed records; producer: ${producerStory.summary}; sink: ${sinkStory.summary}`);
  const expectStory = () => {
    expect.soft(producerStory.retrying, `producer: ${producerStory.summary}`).toBeGreaterThan(0);
    expect.soft(producerStory.recoveredAfter, `producer: ${producerStory.summary}`).toBe(true);
    if (sinkMustRetry !== false || sinkStory.retrying > 0) {
      const why = sinkMustRetry === false ? '' : ` (it had to wait: ${sinkMustRetry})`;
      expect.soft(sinkStory.retrying, `sink${why}: ${sinkStory.summary}`).toBeGreaterThan(0);
      expect.soft(sinkStory.recoveredAfter, `sink${why}: ${sinkStory.summary}`).toBe(true);
    }
  };
  return { source, rows, expectStory };
}

describe('outages of the real services while producer and sink run', () => {
  it('Kafka killed for 60 s, then restarted: nothing exits, nothing is lost or repeated', { timeout: 210_000 }, async () => {
    const p = await startPipeline('outage_kafka');
    await explained(p.runs, p.dir, async () => {
      const changes = changeDeals(1);
      await whileAlive(STEADY_MS, p.runs, 'before the outage');
      await kafka.kill();
      await whileAlive(KAFKA_DOWN_MS, p.runs, 'while Kafka was down');
      await kafka.restart();
      // Both depend on Kafka all the time: both must have waited for it.
      (await expectRecovery(p, changes, 'kafka', 'it reads from Kafka all the time')).expectStory();
    });
  });

  // Killed: connections are refused. Paused: they are accepted and never answered, which only a client
  // timeout notices. Right after it goes, a deal is deleted: the producer publishes that with the schema it
  // already has, and the sink meets the tombstone. Then a new custom field appears on deals, so the
  // producer must register a widened schema: it cannot publish those rows until the registry is back.
  // Whether the sink needs the registry for the tombstone is its own business (it may have cached what it
  // needs); but if it had not applied it by the end of the outage, it was waiting and must say so.
  for (const mode of ['killed', 'paused'] as const) {
    it(`schema registry ${mode} for 30 s, then back: nothing exits, the new column arrives`, { timeout: 180_000 }, async () => {
      const p = await startPipeline(`outage_registry_${mode}`);
      await explained(p.runs, p.dir, async () => {
        // Deals the test changes itself (the change stream leaves them alone, so no request can miss):
        // one deleted during the outage, five given the new field's value.
        const [victim, ...marked] = (await listAllDeals(sim.baseUrl, sim.token)).filter((d) => d.is_deleted !== true).slice(0, 6).map((d) => Number(d.id));
        const changes = changeDeals(mode === 'killed' ? 2 : 3, new Set([victim!, ...marked]));
        await whileAlive(STEADY_MS, p.runs, 'before the outage');
        const known = new Set((await tombstoneOffsets(p.topic, endpoints)).map((t) => `${t.partition}:${t.offset}`));
        const downAt = Date.now();
        if (mode === 'killed') await registry.kill();
        else registry.pause();

        await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${victim}`);
        let tombstone: { partition: number; offset: bigint } | undefined;
        for (const deadline = Date.now() + 15_000; !tombstone && Date.now() < deadline; ) {
          await whileAlive(500, p.runs, `while the registry was ${mode}`);
          tombstone = (await tombstoneOffsets(p.topic, endpoints)).filter((t) => !known.has(`${t.partition}:${t.offset}`)).at(-1);
        }
        expect.soft(tombstone, `the producer published a delete (deal ${victim}) within 15 s of the registry going ${mode}: it needs no new schema for it`).toBeDefined();

        const field = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/dealFields', { field_name: `Outage ${mode}`, field_type: 'varchar' });
        const code = String(field.field_code);
        for (const id of marked) await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${id}`, { custom_fields: { [code]: `noted ${id}` } });
        await whileAlive(Math.max(0, downAt + REGISTRY_DOWN_MS - Date.now()), p.runs, `while the registry was ${mode}`);
        const sinkWaited = tombstone && !sinkApplied(p.sink, p.topic, tombstone) ? `the tombstone at ${p.topic}/${tombstone.partition}@${tombstone.offset}, committed during the outage, was not applied by its end` : false;
        if (mode === 'killed') await registry.restart();
        else registry.resume();
        const { source, rows, expectStory } = await expectRecovery(p, changes, 'registry', sinkWaited);

        // The column named after the field (snake case), holding what the API holds for every deal.
        const column = `outage_${mode}`;
        const byId = new Map(rows.map((r) => [Number(r.id), r[column] ?? null]));
        const want = new Map(source.map((d) => [Number(d.id), ((d.custom_fields as Record<string, unknown> | null) ?? {})[code] ?? null]));
        expect.soft(byId, `column ${column} holds the API's values`).toEqual(want);
        expect.soft(marked.filter((id) => byId.get(id) !== `noted ${id}`), 'deals given a value while the registry was down').toEqual([]);
        expect.soft(byId.has(victim!) && rows.find((r) => Number(r.id) === victim)?._deleted, `deal ${victim}, deleted during the outage, is marked deleted`).toBe(true);
        expectStory();
      });
    });
  }
});
