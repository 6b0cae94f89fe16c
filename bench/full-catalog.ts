/**
 * Benchmark (not a test): a whole-catalog first sync of a generated account — every table but mail — by
 * `pipedrive-cdc run --once` as its own process, against real Kafka and a real registry (KAFKA_BROKERS /
 * SCHEMA_REGISTRY_URL, else started like the demo). Reports the wall time, the producer's peak RSS
 * (VmHWM, sampled from /proc) and, per table, the live keys in its compacted topic next to the rows the
 * local Pipedrive lists: they must be equal.
 *   node --import tsx bench/full-catalog.ts [deals=100000]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { catalog } from '../src/catalog/index.ts';
import type { ListSpec, TableSpec } from '../src/catalog/types.ts';
import { startServices } from '../src/infra/services.ts';
import { PipedriveClient } from '../src/pipedrive/client.ts';
import { listAll } from '../src/pipedrive/lists.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { DEV_CLI } from '../test/integration/support/harness.ts';

const deals = Number(process.argv[2] ?? 100_000);
const MAIL = ['mail_message', 'mail_thread'];
const services = await startServices({ kafka: true, registry: true });
const t0 = Date.now();
const sim = await startSimulator({ seed: 9, deals, rateLimit: { dailyBudget: 1e12, burst: 100_000 } });
const seededIn = (Date.now() - t0) / 1000;
const prefix = `full${Date.now()}`;
try {
  const started = Date.now();
  const child = spawn(DEV_CLI[0], [...DEV_CLI.slice(1), 'run', '--once'], {
    env: {
      ...process.env,
      PIPEDRIVE_BASE_URL: sim.baseUrl,
      PIPEDRIVE_API_TOKEN: sim.token,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      CONNECTOR_NAME: prefix,
      EXCLUDE_TABLES: MAIL.join(','),
      HISTORY_REBUILD: process.env.HISTORY_REBUILD ?? 'off',
      METRICS_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let peakKb = 0;
  const sample = setInterval(() => {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      peakKb = Math.max(peakKb, kb);
    } catch {
      /* exited */
    }
  }, 200);
  let batches = 0;
  child.stdout!.on('data', (b: Buffer) => (batches += (b.toString().match(/"batch-committed"/g) ?? []).length));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearInterval(sample);
  const seconds = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`the producer exited with ${code}`);

  // Per table: live keys in the topic (last record per key not a tombstone) vs rows the API lists.
  const client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token });
  const rows: Array<{ table: string; topic: number; source: number }> = [];
  const topTables = [...catalog.values()].filter((t) => !['child', 'history', 'changelog'].includes(t.sync.kind) && !MAIL.includes(t.name));
  for (const spec of topTables) rows.push({ table: spec.name, topic: await liveKeys(`${prefix}.${spec.name}`), source: await sourceRows(client, spec) });
  await client.close();
  const mismatched = rows.filter((r) => r.topic !== r.source);
  const records = rows.reduce((n, r) => n + r.topic, 0);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(`account: ${deals} deals (seeded in ${seededIn.toFixed(1)} s); first sync of ${topTables.length} tables (and their child/history tables): ${seconds.toFixed(1)} s, ${batches} transactions`);
  console.log(`producer peak RSS: ${(peakKb / 1024).toFixed(0)} MiB`);
  console.log(`live keys: ${records} across the top-level tables; tables whose topic differs from the source: ${mismatched.length === 0 ? 'none' : JSON.stringify(mismatched)}`);
  for (const r of rows.sort((a, b) => b.source - a.source).slice(0, 12)) console.log(`  ${r.table.padEnd(22)} ${String(r.topic).padStart(8)} in the topic, ${String(r.source).padStart(8)} listed`);
  if (mismatched.length > 0) process.exitCode = 1;
} finally {
  await sim.close();
  await services.stop();
}

/** Keys whose last record in the (compacted) topic is not a tombstone. */
async function liveKeys(topic: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-reader', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const exists = (await admin.listTopics()).includes(topic);
  const ends = exists ? await admin.fetchTopicOffsets(topic) : [];
  await admin.disconnect();
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  if (pending.size === 0) return 0;
  const last = new Map<string, boolean>();
  const consumer = kafka.consumer({ groupId: `bench-${topic}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((done) => {
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const target = pending.get(e.payload.partition);
      if (target !== undefined && BigInt(e.payload.lastOffset) >= target) pending.delete(e.payload.partition);
      if (pending.size === 0) done();
    });
    void consumer.run({ eachBatch: async ({ batch }) => void batch.messages.forEach((m) => m.key && last.set(m.key.toString('base64'), m.value !== null)) });
  });
  await consumer.disconnect();
  return [...last.values()].filter(Boolean).length;
}

/** Rows the local Pipedrive lists for a table (its full list), deleted ones left out by their flags. */
async function sourceRows(client: PipedriveClient, spec: TableSpec): Promise<number> {
  const list: ListSpec | undefined = spec.sync.kind === 'recents' ? spec.sync.fullList : 'list' in spec.sync ? spec.sync.list : undefined;
  if (!list) return 0;
  const lists = spec.sync.kind === 'updated-since' && spec.sync.archived ? [list, spec.sync.archived.list] : [list];
  let n = 0;
  for (const l of lists) {
    for await (const page of listAll(client, l)) {
      for (const { item } of page) {
        const o = item as Record<string, unknown>;
        const deleted = spec.deletes.some((d) => d.kind === 'flag' && o[d.field] === d.value);
        if (!deleted) n++;
      }
    }
  }
  return n;
}
