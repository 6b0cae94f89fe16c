/**
 * Benchmark (not a test): the sink end to end against its raw ceiling, in one run.
 *
 * 1. Writes the records of a generated first sync of DEALS deals — a `deal` and a `deal_history` record per
 *    deal, Avro in the Confluent wire format with the product's schemas (src/publish/avro-schema.ts), 3
 *    partitions a topic, in Kafka transactions of 2,000 deals as the producer commits pages — to real Kafka
 *    (KAFKA_BROKERS, SCHEMA_REGISTRY_URL; DATABASE_URL for PostgreSQL).
 * 2. The product: `startSink` (in this process) into a fresh DuckDB file / PostgreSQL schema, timed from the
 *    first `partitions-opened` to the `batch-applied` that completes the last record (its startup — group
 *    join — is reported apart); then its row counts are checked.
 * 3. The raw baseline: the same rows (generated again from the same seed, already converted to SQL values,
 *    so no Avro or Kafka work is counted) applied by plain SQL in transactions of the same size as the
 *    product's mean records per database transaction, one table per transaction (at least as fast as the
 *    product's mixed transactions): DuckDB an Appender into a temp stage + `DELETE … USING` +
 *    `INSERT … SELECT`; PostgreSQL `COPY` into a temp stage + `INSERT … SELECT … ON CONFLICT DO UPDATE`
 *    (its COPY text written by an encoder of its own, as tight as the product's). The history rows are
 *    applied as plain upserts: the raw side does no lookup of stored versions.
 *
 * Product and raw alternate, REPS times each; the medians, their ratio and the median of the ratios of each
 * product run to the raw run right after it are printed, with the load (the machine may be shared).
 *   node --import tsx bench/sink-throughput.ts          (DEALS=200000 REPS=3 DBS=duckdb,postgres PARTS=product,raw)
 * Profiling the sink alone: a run with KEEP=1 (and e.g. REPS=0) leaves its topics; then
 *   PREFIX=<its prefix> PARTS=product REPS=1 node --cpu-prof --cpu-prof-dir=prof --import tsx bench/sink-throughput.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBDateValue, DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import avro from 'avsc';
import { Kafka, logLevel, type Message } from 'kafkajs';
import pg from 'pg';
import { deal } from '../src/catalog/tables/deal.ts';
import { historyOf, type ColumnSpec } from '../src/catalog/types.ts';
import { loadSinkConfig } from '../src/config.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import { keySchema, valueSchema } from '../src/publish/avro-schema.ts';
import { Registry } from '../src/registry/client.ts';
import { tableFromSchemas } from '../src/sink/avro-table.ts';
import { copyFrom } from '../src/sink/destinations/pg-copy.ts';
import { OPEN_END, type SinkTable, type SqlType } from '../src/sink/model.ts';
import { startSink } from '../src/sink/sink.ts';
import { allColumns, createTableSql, quoteIdent, tableKey } from '../src/sink/destinations/sql.ts';

const DEALS = Number(process.env.DEALS ?? 200_000);
const REPS = Number(process.env.REPS ?? 3);
const DBS = (process.env.DBS ?? 'duckdb,postgres').split(',').filter((d) => d === 'duckdb' || (d === 'postgres' && process.env.DATABASE_URL));
const PARTS = new Set((process.env.PARTS ?? 'product,raw').split(','));
const PARTITIONS = 3;
const PER_TRANSACTION = 2_000;
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? '';
if (brokers.length === 0 || !registryUrl) throw new Error('KAFKA_BROKERS and SCHEMA_REGISTRY_URL are required (and DATABASE_URL for PostgreSQL)');

const history = historyOf(deal)!;
/** PREFIX=… reuses the topics a run with KEEP=1 left (e.g. to profile the sink alone); KEEP=1 leaves them. */
const prefix = process.env.PREFIX || `sinkbench${Date.now()}`;
const reuse = Boolean(process.env.PREFIX);
const BASE_MS = Date.parse('2024-01-01T00:00:00Z');

/** A deterministic deal (the Avro value minus the metadata fields) from its id. */
function dealValues(id: number): Record<string, unknown> {
  let s = id * 2654435761;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ts = (maybeNull: boolean) => (maybeNull && rnd() < 0.5 ? null : BASE_MS + Math.floor(rnd() * 3e10));
  const v: Record<string, unknown> = {};
  for (const c of deal.columns) {
    const opt = !(c as ColumnSpec).required && c.name !== 'id';
    switch (c.type) {
      case 'long':
        v[c.name] = c.name === 'id' ? id : opt && rnd() < 0.2 ? null : Math.floor(rnd() * 100_000);
        break;
      case 'double':
        v[c.name] = opt && rnd() < 0.3 ? null : Math.round(rnd() * 1e6) / 100;
        break;
      case 'string':
        v[c.name] = c.name === 'title' ? `Deal ${id} — ${Math.floor(rnd() * 1e9).toString(36)} renewal` : c.name === 'currency' ? (rnd() < 0.5 ? 'EUR' : 'USD') : c.name === 'status' ? ['open', 'won', 'lost'][Math.floor(rnd() * 3)] : rnd() < 0.6 ? null : `${c.name}-${Math.floor(rnd() * 1e6)}`;
        break;
      case 'timestamp':
        v[c.name] = ts(opt);
        break;
      case 'boolean':
        v[c.name] = opt && rnd() < 0.2 ? null : rnd() < 0.1;
        break;
      case 'date':
        v[c.name] = rnd() < 0.5 ? null : 19_700 + Math.floor(rnd() * 1000);
        break;
      case 'json':
        v[c.name] = rnd() < 0.5 ? null : JSON.stringify([Math.floor(rnd() * 10), Math.floor(rnd() * 10)]);
        break;
    }
  }
  return v;
}

const sourceTs = (v: Record<string, unknown>) => (v.update_time as number | null) ?? (v.add_time as number);

// ---------------------------------------------------------------- 1. the records in Kafka

async function produce(): Promise<{ seconds: number; bytes: number }> {
  const kafka = new Kafka({ clientId: 'sink-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [deal, history].map((t) => ({ topic: `${prefix}.${t.name}`, numPartitions: PARTITIONS, replicationFactor: 1 })) });
  await admin.disconnect();
  const registry = new Registry(registryUrl);
  const types = new Map<string, { keyId: number; valueId: number; key: avro.Type; value: avro.Type }>();
  for (const t of [deal, history]) {
    const [k, v] = [keySchema(prefix, t), valueSchema(prefix, t)];
    const keyId = await registry.register(`${prefix}.${t.name}-key`, k);
    const valueId = await registry.register(`${prefix}.${t.name}-value`, v);
    types.set(t.name, { keyId, valueId, key: avro.Type.forSchema(k as avro.Schema), value: avro.Type.forSchema(v as avro.Schema) });
  }
  await registry.close();
  const wire = (id: number, type: avro.Type, value: unknown) => {
    const body = type.toBuffer(value);
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  };
  const producer = kafka.producer({ transactionalId: `${prefix}-writer`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = performance.now();
  let bytes = 0;
  const synced = Date.now();
  for (let first = 1; first <= DEALS; first += PER_TRANSACTION) {
    const byTopic = new Map<string, Message[]>();
    for (let id = first; id < Math.min(DEALS + 1, first + PER_TRANSACTION); id++) {
      const v = dealValues(id);
      for (const t of [deal, history]) {
        const ty = types.get(t.name)!;
        const key = wire(ty.keyId, ty.key, { id });
        const value = wire(ty.valueId, ty.value, { ...v, __op: 'r', __deleted: false, __source_ts_ms: sourceTs(v), __synced_ms: synced });
        bytes += key.length + value.length;
        const topic = `${prefix}.${t.name}`;
        if (!byTopic.has(topic)) byTopic.set(topic, []);
        byTopic.get(topic)!.push({ partition: id % PARTITIONS, key, value });
      }
    }
    const tx = await producer.transaction();
    await tx.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    await tx.commit();
  }
  await producer.disconnect();
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

async function deleteTopics(): Promise<void> {
  const kafka = new Kafka({ clientId: 'sink-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [deal, history].map((t) => `${prefix}.${t.name}`) }).catch(() => undefined);
  await admin.disconnect();
}

// ---------------------------------------------------------------- 2. the product

interface Measure {
  readonly rowsPerSecond: number;
  readonly seconds: number;
  readonly transactions: number;
  readonly recordsPerTransaction: number;
  readonly startupSeconds: number;
}

async function product(db: 'duckdb' | 'postgres', rep: number): Promise<Measure> {
  const dir = mkdtempSync(join(tmpdir(), 'sinkbench-'));
  const schema = `${prefix}_p${rep}`;
  const config = loadSinkConfig({
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    SINK_DESTINATION: db,
    DUCKDB_PATH: join(dir, 'sink.duckdb'),
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    DATABASE_SCHEMA: schema,
    SINK_GROUP_ID: `${prefix}-${db}-${rep}`,
    SINK_METRICS_PORT: '0',
  });
  const total = 2 * DEALS;
  let applied = 0;
  let opened: number | undefined;
  let done: number | undefined;
  const transactions = new Set<unknown>();
  let batches = 0;
  let finished: () => void = () => undefined;
  const allApplied = new Promise<void>((r) => (finished = r));
  const started = performance.now();
  const sink = await startSink(config, {
    metrics: createMetrics('sink'),
    log: (event, fields = {}) => {
      if (event === 'partitions-opened') opened ??= performance.now();
      else if (event === 'batch-applied') {
        applied += Number(fields.records);
        batches++;
        transactions.add(fields.transaction ?? batches);
        if (applied >= total && done === undefined) {
          done = performance.now();
          finished();
        }
      } else if (event === 'sink-failed' || event === 'retrying') console.error(event, fields);
    },
  });
  try {
    await Promise.race([allApplied, sink.failed, new Promise((_, reject) => setTimeout(() => reject(new Error('not done in 15 minutes')), 900_000))]);
    await sink.caughtUp(60_000);
    const counts = await sink.destination.countRows();
    if (counts.get('deal') !== DEALS || counts.get('deal_history') !== DEALS) throw new Error(`product ${db}: row counts ${JSON.stringify([...counts])}, expected ${DEALS} each`);
  } finally {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
    if (db === 'postgres') await dropSchema(schema);
  }
  const seconds = (done! - opened!) / 1000;
  return { rowsPerSecond: total / seconds, seconds, transactions: transactions.size, recordsPerTransaction: total / transactions.size, startupSeconds: (opened! - started) / 1000 };
}

// ---------------------------------------------------------------- 3. the raw baseline

const typeOf = (c: ColumnSpec): SqlType => ({ long: 'bigint', double: 'double', string: 'text', json: 'text', boolean: 'boolean', timestamp: 'timestamp', date: 'date' })[c.type] as SqlType;
const dealTable = tableFromSchemas('deal', keySchema(prefix, deal), valueSchema(prefix, deal));
const historyTable = tableFromSchemas('deal_history', keySchema(prefix, history), valueSchema(prefix, history));

/** The rows of both tables as SQL values in allColumns order, built before any timing. */
function rawRows(): { deal: unknown[][]; history: unknown[][] } {
  const synced = new Date();
  const types = deal.columns.map(typeOf);
  const out = { deal: [] as unknown[][], history: [] as unknown[][] };
  for (let id = 1; id <= DEALS; id++) {
    const v = dealValues(id);
    const business = deal.columns.map((c, i) => {
      const x = v[c.name];
      if (x === null || x === undefined) return null;
      if (types[i] === 'timestamp') return new Date(x as number);
      if (types[i] === 'date') return new Date((x as number) * 86_400_000).toISOString().slice(0, 10);
      return x;
    });
    const meta = ['r', false, new Date(sourceTs(v)), synced];
    // `_resync` (null until the table's first re-sync) ends a latest table's row, as the sink writes it.
    out.deal.push([...business, ...meta, null]);
    out.history.push([...business, ...meta, new Date(sourceTs(v)), OPEN_END, true]);
  }
  return out;
}

/** Transactions of `size` rows, one table each, alternating tables as the topics interleave. */
function chunks(rows: { deal: unknown[][]; history: unknown[][] }, size: number): Array<{ table: SinkTable; rows: unknown[][] }> {
  const out: Array<{ table: SinkTable; rows: unknown[][] }> = [];
  for (let i = 0; i < DEALS; i += size) {
    out.push({ table: dealTable, rows: rows.deal.slice(i, i + size) }, { table: historyTable, rows: rows.history.slice(i, i + size) });
  }
  return out;
}

const duckTypes: Record<SqlType, string> = { bigint: 'BIGINT', integer: 'INTEGER', double: 'DOUBLE', text: 'VARCHAR', boolean: 'BOOLEAN', timestamp: 'TIMESTAMP', date: 'DATE' };
const pgTypes: Record<SqlType, string> = { bigint: 'BIGINT', integer: 'INTEGER', double: 'DOUBLE PRECISION', text: 'TEXT', boolean: 'BOOLEAN', timestamp: 'TIMESTAMPTZ', date: 'DATE' };

async function rawDuckDb(work: ReadonlyArray<{ table: SinkTable; rows: unknown[][] }>): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sinkbench-raw-'));
  const instance = await DuckDBInstance.create(join(dir, 'raw.duckdb'));
  const conn = await instance.connect();
  try {
    for (const t of [dealTable, historyTable]) await conn.run(createTableSql(t, (x) => duckTypes[x]));
    const t0 = performance.now();
    for (const { table, rows } of work) {
      await conn.run('BEGIN TRANSACTION');
      await duckStageAndReplace(conn, table, rows);
      await conn.run('COMMIT');
    }
    return (performance.now() - t0) / 1000;
  } finally {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function duckStageAndReplace(conn: DuckDBConnection, table: SinkTable, rows: unknown[][]): Promise<void> {
  const cols = allColumns(table);
  const t = quoteIdent(table.name);
  await conn.run(`CREATE OR REPLACE TEMP TABLE raw_stage AS SELECT * FROM ${t} LIMIT 0`);
  const appender = await conn.createAppender('raw_stage', 'main', 'temp');
  for (const row of rows) {
    for (let i = 0; i < cols.length; i++) duckAppend(appender, cols[i]!.type, row[i]);
    appender.endRow();
  }
  appender.closeSync();
  const match = tableKey(table).map((k) => `${t}.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  await conn.run(`DELETE FROM ${t} USING raw_stage s WHERE ${match}`);
  await conn.run(`INSERT INTO ${t} SELECT * FROM raw_stage`);
}

function duckAppend(a: DuckDBAppender, type: SqlType, v: unknown): void {
  if (v === null || v === undefined) return a.appendNull();
  switch (type) {
    case 'bigint':
      return a.appendBigInt(BigInt(v as number));
    case 'integer':
      return a.appendInteger(v as number);
    case 'double':
      return a.appendDouble(v as number);
    case 'boolean':
      return a.appendBoolean(v as boolean);
    case 'timestamp':
      return a.appendTimestamp(new DuckDBTimestampValue(BigInt((v as Date).getTime()) * 1000n));
    case 'date':
      return a.appendDate(new DuckDBDateValue(Math.round(Date.parse(`${v as string}T00:00:00Z`) / 86_400_000)));
    case 'text':
      return a.appendVarchar(v as string);
  }
}

async function rawPostgres(work: ReadonlyArray<{ table: SinkTable; rows: unknown[][] }>, rep: number): Promise<number> {
  const schema = `${prefix}_r${rep}`;
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    for (const t of [dealTable, historyTable]) {
      await client.query(createTableSql(t, (x) => pgTypes[x]).replace(/^CREATE TABLE IF NOT EXISTS /, `CREATE TABLE ${quoteIdent(schema)}.`));
      await client.query(`CREATE TEMP TABLE ${quoteIdent(`raw_stage_${t.name}`)} (LIKE ${quoteIdent(schema)}.${quoteIdent(t.name)})`);
    }
    const t0 = performance.now();
    for (const { table, rows } of work) {
      const cols = allColumns(table);
      const t = `${quoteIdent(schema)}.${quoteIdent(table.name)}`;
      const stage = quoteIdent(`raw_stage_${table.name}`);
      const key = tableKey(table);
      const sets = cols.filter((c) => !key.includes(c.name)).map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
      await client.query('BEGIN');
      await client.query(`TRUNCATE ${stage}`);
      await copyFrom(client, `COPY ${stage} FROM STDIN`, copyText(rows));
      await client.query(`INSERT INTO ${t} SELECT * FROM ${stage} ON CONFLICT (${key.map(quoteIdent).join(',')}) DO UPDATE SET ${sets.join(', ')}`);
      await client.query('COMMIT');
    }
    return (performance.now() - t0) / 1000;
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
    await client.end();
  }
}

/**
 * COPY text format, written out here (not the product's encoder), as tight as the product's: one pass over
 * each row array, numbers and booleans printed directly, strings searched for a special character before
 * any escaping.
 */
function* copyText(rows: unknown[][]): Generator<string> {
  const special = /[\\\t\n\r]/;
  const esc = (ch: string) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!;
  let buf = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (i > 0) buf += '\t';
      if (v === null || v === undefined) buf += '\\N';
      else if (typeof v === 'number') buf += String(v);
      else if (typeof v === 'boolean') buf += v ? 't' : 'f';
      else if (v instanceof Date) buf += v.toISOString();
      else buf += special.test(String(v)) ? String(v).replace(/[\\\t\n\r]/g, esc) : String(v);
    }
    buf += '\n';
    if (buf.length > 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
  await client.end();
}

// ---------------------------------------------------------------- the run

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? '?'} · ${(totalmem() / 2 ** 30).toFixed(1)} GiB · Node ${process.version} · load ${load()}`);
console.log(`${DEALS} deals → ${2 * DEALS} records (deal + deal_history), ${PARTITIONS} partitions a topic; ${REPS} repetitions; ${DBS.join(', ')}`);
if (!reuse) {
  const produced = await produce();
  console.log(`produced ${prefix}.* in ${produced.seconds.toFixed(1)} s (${(produced.bytes / 2 ** 20).toFixed(0)} MiB of keys and values)`);
}
const rows = PARTS.has('raw') ? rawRows() : undefined;
const summary: string[] = [];
try {
  for (const db of DBS) {
    const p: Measure[] = [];
    const r: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      if (PARTS.has('product')) {
        const m = await product(db as 'duckdb' | 'postgres', rep);
        p.push(m);
        console.log(`${db} product #${rep + 1}: ${fmt(m.rowsPerSecond)} rows/s (${m.seconds.toFixed(1)} s; ${m.transactions} transactions, ${fmt(m.recordsPerTransaction)} records each; startup ${m.startupSeconds.toFixed(1)} s) · load ${load()}`);
      }
      if (rows) {
        const size = Number(process.env.RAW_BATCH ?? 0) || Math.round(p.at(-1)?.recordsPerTransaction ?? 4000);
        const work = chunks(rows, size);
        const seconds = db === 'duckdb' ? await rawDuckDb(work) : await rawPostgres(work, rep);
        r.push((2 * DEALS) / seconds);
        console.log(`${db} raw     #${rep + 1}: ${fmt(r.at(-1)!)} rows/s (${seconds.toFixed(1)} s; ${work.length} transactions of ${fmt(size)} rows) · load ${load()}`);
      }
    }
    const pm = median(p.map((m) => m.rowsPerSecond));
    const rm = median(r);
    // Each product run next to the raw run right after it (the load drifts less within a pair).
    const pairs = p.map((m, i) => m.rowsPerSecond / r[i]!).filter((x) => Number.isFinite(x));
    summary.push(
      `${db}: product ${fmt(pm)} rows/s, raw ${fmt(rm)} rows/s (medians of ${REPS}), ratio of medians ${(pm / rm).toFixed(2)}, ` +
        `median of paired ratios ${median(pairs).toFixed(2)} [${pairs.map((x) => x.toFixed(2)).join(', ')}]`,
    );
  }
} finally {
  if (!process.env.KEEP) await deleteTopics();
}
console.log(summary.join('\n'));
console.log(`load at the end ${load()}`);
process.exit(0);
