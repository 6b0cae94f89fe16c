import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { services, uniqueName } from './harness.ts';

/**
 * Writes records in the product's record contract (docs/ARCHITECTURE.md "Record contract") with a plain
 * kafkajs transactional producer and the registry client — independent of the product's publisher, so
 * sink tests decide exactly what is in a topic (repeats, out-of-order versions, a steady stream) and know
 * the expected tables from what they wrote.
 */
export interface Row {
  readonly id: number;
  readonly title: string;
  readonly op: 'r' | 'c' | 'u' | 'd';
  /** Source time (`__source_ts_ms`): a history version's start. */
  readonly ts: number;
}

export interface WrittenRecord {
  readonly topic: string;
  readonly partition: number;
  readonly row: Row | null;
  readonly key: number;
}

const keySchema = (table: string) => ({ type: 'record', name: 'Key', namespace: `test.${table}`, fields: [{ name: 'id', type: 'long' }] });
const valueSchema = (table: string, history: boolean) => ({
  type: 'record',
  name: 'Value',
  namespace: `test.${table}`,
  ...(history ? { 'pipedrive.cdc.kind': 'history' } : {}),
  fields: [
    { name: 'id', type: 'long' },
    { name: 'title', type: ['null', 'string'], default: null },
    { name: '__op', type: { type: 'enum', name: 'Op', symbols: ['r', 'c', 'u', 'd'] } },
    { name: '__deleted', type: 'boolean' },
    { name: '__source_ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: '__synced_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
});

export class TestTopics {
  private readonly ids = new Map<string, { key: number; value: number }>();
  private constructor(
    readonly prefix: string,
    readonly partitions: number,
    private readonly brokers: readonly string[],
    private readonly registry: SchemaRegistry,
    private readonly producer: Producer,
  ) {}

  /** Creates `<prefix>.<table>` for each table (history tables carry the history attribute) and a transactional producer. */
  static async create(prefix: string, tables: ReadonlyArray<{ name: string; history?: boolean }>, partitions = 3, brokers = services().brokers): Promise<TestTopics> {
    const { registryUrl } = services();
    const kafka = new Kafka({ clientId: 'test-records', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: tables.map((t) => ({ topic: `${prefix}.${t.name}`, numPartitions: partitions, replicationFactor: 1 })) });
    await admin.disconnect();
    const registry = new SchemaRegistry({ host: registryUrl });
    const producer = kafka.producer({ transactionalId: `test-records-${randomBytes(4).toString('hex')}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const topics = new TestTopics(prefix, partitions, brokers, registry, producer);
    for (const t of tables) {
      const topic = `${prefix}.${t.name}`;
      const { id: key } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(keySchema(t.name)) }, { subject: `${topic}-key` });
      const { id: value } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(valueSchema(t.name, t.history === true)) }, { subject: `${topic}-value` });
      topics.ids.set(t.name, { key, value });
    }
    return topics;
  }

  /** Writes the rows (null: a tombstone of `key`) to the table's topic in one committed transaction; partition = id mod partitions. */
  async write(table: string, rows: ReadonlyArray<Row | { tombstone: number }>): Promise<WrittenRecord[]> {
    const ids = this.ids.get(table)!;
    const topic = `${this.prefix}.${table}`;
    const out: WrittenRecord[] = [];
    const messages = [];
    for (const r of rows) {
      const id = 'tombstone' in r ? r.tombstone : r.id;
      const partition = id % this.partitions;
      const value =
        'tombstone' in r
          ? null
          : await this.registry.encode(ids.value, { id: r.id, title: r.title, __op: r.op, __deleted: r.op === 'd', __source_ts_ms: r.ts, __synced_ms: r.ts });
      messages.push({ partition, key: await this.registry.encode(ids.key, { id }), value });
      out.push({ topic, partition, key: id, row: 'tombstone' in r ? null : r });
    }
    const tx = await this.producer.transaction();
    try {
      await tx.send({ topic, messages });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    return out;
  }

  /** Data offsets per partition (read_committed, what a sink must apply), read from the topic itself. */
  async dataOffsets(table: string): Promise<Map<number, bigint[]>> {
    return dataOffsets(`${this.prefix}.${table}`, this.brokers);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}

/** The expected latest table from what was written: the last row per key, a tombstone marking it deleted. */
export function expectedLatest(written: readonly WrittenRecord[]): Map<number, { title: string; op: string; deleted: boolean }> {
  const out = new Map<number, { title: string; op: string; deleted: boolean }>();
  for (const w of written) {
    if (w.row === null) {
      const had = out.get(w.key);
      if (had) out.set(w.key, { ...had, deleted: true });
    } else out.set(w.key, { title: w.row.title, op: w.row.op, deleted: w.row.op === 'd' });
  }
  return out;
}

/**
 * Checks the sink's `batch-applied` log lines of one topic against the topic: every data offset lies in
 * exactly one applied range. Returns the offsets covered more than once and those never covered.
 */
export function coverage(lines: ReadonlyArray<Record<string, unknown>>, topic: string, offsets: ReadonlyMap<number, readonly bigint[]>): { twice: string[]; missing: string[] } {
  const count = new Map<string, number>();
  for (const l of lines) {
    if (l.event !== 'batch-applied' || l.topic !== topic) continue;
    const p = Number(l.partition);
    const [from, to] = [BigInt(String(l.firstOffset)), BigInt(String(l.lastOffset))];
    for (const o of offsets.get(p) ?? []) if (o >= from && o <= to) count.set(`${p}@${o}`, (count.get(`${p}@${o}`) ?? 0) + 1);
  }
  const all = [...offsets].flatMap(([p, os]) => os.map((o) => `${p}@${o}`));
  return { twice: all.filter((k) => (count.get(k) ?? 0) > 1), missing: all.filter((k) => !count.has(k)) };
}

/** A table as the sink left it (DuckDB: open the file only after the sink closed it). */
export async function readTable(where: { duckdb: string } | { postgres: string; schema: string }, table: string): Promise<Array<Record<string, unknown>>> {
  if ('duckdb' in where) {
    const instance = await DuckDBInstance.create(where.duckdb);
    const conn = await instance.connect();
    try {
      return (await conn.runAndReadAll(`SELECT * FROM "${table}"`)).getRowObjectsJS() as Array<Record<string, unknown>>;
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }
  const client = new pg.Client({ connectionString: where.postgres });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${where.schema}"."${table}"`)).rows;
  } finally {
    await client.end();
  }
}

/** Latest-table rows keyed by id, as expectedLatest shapes them. */
export function latestRows(rows: ReadonlyArray<Record<string, unknown>>): Map<number, { title: string; op: string; deleted: boolean }> {
  return new Map(rows.map((r) => [Number(r.id), { title: String(r.title), op: String(r._op), deleted: r._deleted === true }]));
}

/** Offsets of the committed data records of a topic per partition, read to its end with a throwaway group. */
export async function dataOffsets(topic: string, brokers: readonly string[]): Promise<Map<number, bigint[]>> {
  const kafka = new Kafka({ clientId: 'test-offsets', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  const out = new Map<number, bigint[]>();
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('test-offsets'), readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not read to its end in 60 s`)), 60_000);
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const target = pending.get(e.payload.partition);
        if (target !== undefined && BigInt(e.payload.lastOffset) >= target) pending.delete(e.payload.partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer
        .run({ eachMessage: async ({ partition, message }) => void out.set(partition, [...(out.get(partition) ?? []), BigInt(message.offset)]) })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
