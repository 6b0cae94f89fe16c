import type { TableSpec } from '../catalog/types.ts';
import type { Row } from '../pipedrive/row.ts';
import type { ChangeBatch, ChangeEvent } from '../capture/change.ts';
import type { ResyncState } from '../capture/offset.ts';
import { VERSION_KEY_FIELD, keySchema, valueSchema } from './avro-schema.ts';
import type { OutRecord, ProducerKafka, TopicSpec } from './kafka.ts';
import { framedReader, type AvroSchema, type Registry } from '../registry/client.ts';
import { stateKey, stateValue } from './state.ts';

/** Tables whose schemas are registered at once (two subjects each). */
const REGISTER_CONCURRENCY = 4;

export interface PublisherOptions {
  readonly topicPrefix: string;
  readonly connector: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly now?: () => number;
}

/** The op of a record, repeated as a header (routing without decoding). */
export const OP_HEADER = 'pipedrive-cdc.op';
/**
 * The version's source time (epoch ms) on every record, tombstones included: the producer rebuilds its key
 * indexes from compacted topics at start and learns each key's last published version without decoding.
 */
export const SOURCE_TS_HEADER = 'pipedrive-cdc.source-ts-ms';
/** The row's content hash (not on deletes): the base of a re-import's diff after a restart. */
export const HASH_HEADER = 'pipedrive-cdc.hash';
/** The clear key of a record whose key holds a hashed column, sealed (capture/rules.ts): the key index's source after a restart. */
export const SEALED_KEY_HEADER = 'pipedrive-cdc.key';
/** The re-sync generation of the table (capture/resync.ts) on every record published during and after a re-sync. */
export const RESYNC_HEADER = 'pipedrive-cdc.resync';
/** On re-sync markers only: `resync-begin` or `resync-end` (docs/ARCHITECTURE.md, re-sync). */
export const MARKER_HEADER = 'pipedrive-cdc.marker';
/** On markers: when the re-sync started (epoch ms). */
export const RESYNC_STARTED_HEADER = 'pipedrive-cdc.resync-started-at';
/** On markers: how many partitions the topic has (a sink knows a re-sync ended once each passed its end marker). */
export const PARTITIONS_HEADER = 'pipedrive-cdc.partitions';
export type MarkerKind = 'resync-begin' | 'resync-end';

interface TableSchemas {
  readonly spec: TableSpec;
  readonly topic: string;
  readonly keyId: number;
  readonly valueId: number;
  readonly writeKey: (key: unknown) => Buffer;
  readonly writeValue: (value: unknown) => Buffer;
  /** The value's fields: two tables with the same (a table and its history) encode a row to the same body. */
  readonly fields: string;
}

/** The Avro body of the last value written, reused for the same version going to a table of the same fields. */
interface LastBody {
  readonly row: object;
  readonly op: string;
  readonly sourceTsMs: number;
  readonly fields: string;
  readonly body: Buffer;
}

/**
 * Turns change batches into Kafka records — Avro key and value per the record contract, a tombstone after
 * each delete — and writes them with the table's new offset in one transaction.
 */
export class Publisher {
  private readonly schemas = new Map<string, TableSchemas>();
  private readonly now: () => number;
  /** The last transaction handed to Kafka. */
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly kafka: ProducerKafka,
    private readonly registry: Registry,
    private readonly opts: PublisherOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get stateTopic(): string {
    return `${this.opts.topicPrefix}._state`;
  }

  topicOf(table: string): string {
    return `${this.opts.topicPrefix}.${table}`;
  }

  /** Decodes the keys of a table's topic synchronously (their schema is fixed by the table's primary key). */
  keyReader(spec: TableSpec): (wire: Buffer) => Row {
    return framedReader(keySchema(this.opts.topicPrefix, spec), `the keys of ${this.topicOf(spec.name)}`) as (wire: Buffer) => Row;
  }

  /** Creates topics and registers the key/value schemas of the given tables (TopicNameStrategy subjects). */
  async prepare(tables: readonly TableSpec[]): Promise<void> {
    const durability = { replicationFactor: this.opts.replicationFactor, minInsyncReplicas: this.opts.minInsyncReplicas };
    const topics: TopicSpec[] = [
      // Offsets are small, but one second's worth of same-second versions can be many: room beyond 1 MB.
      { topic: this.stateTopic, partitions: 1, compacted: true, maxMessageBytes: 16 * 1024 * 1024, ...durability },
      // Latest-state topics are compacted; history topics keep every version, forever.
      ...tables.map((t): TopicSpec => {
        const history = t.sync.kind === 'history';
        return { topic: this.topicOf(t.name), partitions: this.opts.partitions, compacted: !history, ...(history ? { retentionMs: -1 } : {}), ...durability };
      }),
    ];
    await this.kafka.ensureTopics(topics);
    // A few tables at a time, key and value together: each registration is two or three round trips, and a
    // start registers every table's subjects (sequentially that was most of a restart's time to first poll).
    const prepareOne = async (t: TableSpec) => {
      const topic = this.topicOf(t.name);
      const value = valueSchema(this.opts.topicPrefix, t);
      const [keyId, valueId] = await Promise.all([this.registry.register(`${topic}-key`, keySchema(this.opts.topicPrefix, t)), this.registry.register(`${topic}-value`, value)]);
      const fields = JSON.stringify(value.fields);
      this.schemas.set(t.name, { spec: t, topic, keyId, valueId, writeKey: this.registry.writerFor(keyId), writeValue: this.registry.writerFor(valueId), fields });
    };
    for (let i = 0; i < tables.length; i += REGISTER_CONCURRENCY) await Promise.all(tables.slice(i, i + REGISTER_CONCURRENCY).map(prepareOne));
  }

  /**
   * Publishes the batch's events (of its table and its child tables) and its offset atomically, with `also`
   * (further state records) in the same transaction. Pipelined, one transaction in flight: the batch is
   * encoded at once, then this waits for the previous batch's transaction to commit (rethrowing its
   * failure) and hands this one to Kafka without waiting for it — the caller reads and encodes the next
   * batch meanwhile. `committed` settles with this transaction; `flush()` waits for it too.
   *
   * A failed transaction leaves its outcome unknown (see ProducerKafka.writeTransaction), so after any
   * failure from here or from `flush()` the caller must stop publishing and start over from the state
   * topic — which is also why the caller may treat a handed-over batch as committed for what it reads next.
   */
  async publish(batch: ChangeBatch, also: readonly OutRecord[] = []): Promise<{ records: number; committed: Promise<void> }> {
    const synced = this.now();
    const records: OutRecord[] = [];
    let last: LastBody | undefined;
    const generation = batch.offset.resync ? String(batch.offset.resync.generation) : undefined;
    for (const ev of batch.events) {
      const s = this.schemas.get(ev.table);
      if (!s) throw new Error(`publisher: table ${ev.table} was not prepared`);
      last = this.encode(s, ev, synced, last, records, generation);
    }
    const data = records.length;
    records.push(...also, {
      topic: this.stateTopic,
      key: Buffer.from(stateKey(this.opts.connector, batch.table), 'utf8'),
      value: stateValue(batch.offset),
    });
    await this.inflight;
    const committed = this.kafka.writeTransaction(records);
    // Reported by the next publish or flush (and by `committed` to whoever waits on it).
    this.inflight = committed;
    committed.catch(() => undefined);
    return { records: data, committed };
  }

  /**
   * The re-sync markers of a table's topic: a tombstone on every partition (`partitions` of them) with the
   * key schema's sentinel key (-1, "", false: never a row's key), and the marker headers. Empty for a table
   * not prepared (blocked by the rules: it has no topic).
   */
  markerRecords(table: string, kind: MarkerKind, resync: ResyncState, partitions: number): OutRecord[] {
    const s = this.schemas.get(table);
    if (!s) return [];
    const key = s.writeKey(sentinelKey(keySchema(this.opts.topicPrefix, s.spec)));
    const headers = { [MARKER_HEADER]: kind, [RESYNC_HEADER]: String(resync.generation), [RESYNC_STARTED_HEADER]: String(resync.startedAt), [PARTITIONS_HEADER]: String(partitions) };
    return Array.from({ length: partitions }, (_, partition) => ({ topic: s.topic, key, value: null, headers, partition }));
  }

  /** Waits until the transaction in flight (if any) committed; rethrows its failure. */
  async flush(): Promise<void> {
    await this.inflight;
  }

  /**
   * Appends the records of one event: the change (and a tombstone after a delete). The history copy of a
   * version follows the version itself and has the same fields: its Avro body is the one just written.
   */
  private encode(s: TableSchemas, ev: ChangeEvent, syncedMs: number, last: LastBody | undefined, out: OutRecord[], generation: string | undefined): LastBody {
    const history = s.spec.sync.kind === 'history';
    // History keys hold the version time too (every version is its own key); they are partitioned by the
    // entity's key as its latest-state topic writes it, so one entity's versions stay in one partition.
    const key = s.writeKey(history ? { ...ev.key, [VERSION_KEY_FIELD]: ev.sourceTsMs } : ev.key);
    const of = s.spec.sync.kind === 'history' ? this.schemas.get(s.spec.sync.of) : undefined;
    const partitionKey = of ? of.writeKey(ev.key) : undefined;
    const deleted = ev.op === 'd';
    let value: Buffer;
    let body: LastBody;
    if (last && last.row === ev.row && last.op === ev.op && last.sourceTsMs === ev.sourceTsMs && last.fields === s.fields) {
      value = withSchemaId(s.valueId, last.body);
      body = last;
    } else {
      // Every column is present (null when unknown, e.g. a delete found by absence carries only its key).
      const fields: Record<string, unknown> = { __op: ev.op, __deleted: deleted, __source_ts_ms: ev.sourceTsMs, __synced_ms: syncedMs };
      for (const c of s.spec.columns) fields[c.name] = ev.row[c.name] ?? null;
      value = s.writeValue(fields);
      body = { row: ev.row, op: ev.op, sourceTsMs: ev.sourceTsMs, fields: s.fields, body: value.subarray(5) };
    }
    const sourceTs = String(ev.sourceTsMs);
    const headers: Record<string, string> = { [OP_HEADER]: ev.op, [SOURCE_TS_HEADER]: sourceTs };
    if (ev.hash !== undefined && !deleted) headers[HASH_HEADER] = ev.hash;
    const sealed: Record<string, string> = ev.sealedKey === undefined ? {} : { [SEALED_KEY_HEADER]: ev.sealedKey };
    if (generation !== undefined) sealed[RESYNC_HEADER] = generation;
    Object.assign(headers, sealed);
    out.push({ topic: s.topic, key, value, headers, ...(partitionKey ? { partitionKey } : {}) });
    // A delete is followed by a tombstone so compaction can forget the row (Debezium's convention);
    // history topics keep the delete as the key's last version.
    if (deleted && !history) out.push({ topic: s.topic, key, value: null, headers: { [SOURCE_TS_HEADER]: sourceTs, ...sealed } });
    return body;
  }
}

/** A key no row has: every key field at its type's sentinel (numbers -1, strings "", booleans false). */
function sentinelKey(schema: AvroSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of (schema as { fields: Array<{ name: string; type: unknown }> }).fields) {
    const t = typeof f.type === 'object' && f.type !== null ? (f.type as { type: string }).type : f.type;
    out[f.name] = t === 'string' ? '' : t === 'boolean' ? false : -1;
  }
  return out;
}

/** A Confluent wire-format record of another schema id around an Avro body. */
function withSchemaId(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeInt32BE(schemaId, 1);
  body.copy(out, 5);
  return out;
}
