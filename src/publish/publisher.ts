import type { TableSpec } from '../catalog/types.ts';
import type { Row } from '../pipedrive/row.ts';
import type { ChangeBatch, ChangeEvent } from '../capture/change.ts';
import type { ResyncState } from '../capture/offset.ts';
import { keySchema, valueSchema } from './avro-schema.ts';
import { KeyEncoder, Slab, ValueEncoder } from './encoder.ts';
import type { OutRecord, ProducerKafka, TopicSpec } from './kafka.ts';
import { framedReader, type AvroSchema, type Registry } from '../registry/client.ts';
import { stateKey, stateValue } from './state.ts';

/** Tables whose schemas are registered at once (two subjects each). */
const REGISTER_CONCURRENCY = 4;
/** Events encoded before the event loop gets a turn (a page and its history copies: a few slices). */
const ENCODE_SLICE = 250;

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
  readonly key: KeyEncoder;
  readonly value: ValueEncoder;
  /** The value's fields: two tables with the same (a table and its history) encode a row to the same body. */
  readonly fields: string;
}

/**
 * The last version written, for the next record of the same version (its history copy, which follows it):
 * its Avro body is reused when the value fields are the same, its headers when the header values are, and
 * its key as the history record's partition key.
 */
interface LastBody {
  readonly table: string;
  readonly row: object;
  readonly key: object;
  readonly op: string;
  readonly sourceTsMs: number;
  readonly fields: string;
  readonly body: Buffer;
  readonly keyWire: Buffer;
  readonly hash: string | undefined;
  readonly sealedKey: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
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
      const key = keySchema(this.opts.topicPrefix, t);
      const [keyId, valueId] = await Promise.all([this.registry.register(`${topic}-key`, key), this.registry.register(`${topic}-value`, value)]);
      const fields = JSON.stringify(value.fields);
      // The ids are resolved here, once per schema: records are encoded with the very schemas registered.
      this.schemas.set(t.name, { spec: t, topic, keyId, valueId, key: new KeyEncoder(keyId, key), value: new ValueEncoder(valueId, value), fields });
    };
    for (let i = 0; i < tables.length; i += REGISTER_CONCURRENCY) await Promise.all(tables.slice(i, i + REGISTER_CONCURRENCY).map(prepareOne));
  }

  /**
   * Publishes the batch's events (of its table and its child tables) and its offset atomically, with `also`
   * (further state records) in the same transaction. Pipelined, one transaction in flight: the batch is
   * encoded (in slices, the event loop getting a turn between them), then this waits for the previous
   * batch's transaction to commit (rethrowing its failure) and hands this one to Kafka without waiting
   * for it — the caller reads and encodes the next batch meanwhile. `committed` settles with this transaction; `flush()` waits for it too.
   *
   * A failed transaction leaves its outcome unknown (see ProducerKafka.writeTransaction), so after any
   * failure from here or from `flush()` the caller must stop publishing and start over from the state
   * topic — which is also why the caller may treat a handed-over batch as committed for what it reads next.
   */
  async publish(batch: ChangeBatch, also: readonly OutRecord[] = []): Promise<{ records: number; committed: Promise<void> }> {
    const synced = this.now();
    const records: OutRecord[] = [];
    // The batch's records are views into one slab: no buffer per record (they live until the commit).
    const slab = new Slab();
    let last: LastBody | undefined;
    const generation = batch.offset.resync ? String(batch.offset.resync.generation) : undefined;
    for (let i = 0; i < batch.events.length; i++) {
      // A slice at a time: the transaction in flight needs the event loop for each of its round trips.
      if (i > 0 && i % ENCODE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const ev = batch.events[i]!;
      const s = this.schemas.get(ev.table);
      if (!s) throw new Error(`publisher: table ${ev.table} was not prepared`);
      last = this.encode(s, ev, synced, last, records, generation, slab);
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
    const key = s.key.encode(new Slab(256), sentinelKey(keySchema(this.opts.topicPrefix, s.spec)), -1);
    const headers = { [MARKER_HEADER]: kind, [RESYNC_HEADER]: String(resync.generation), [RESYNC_STARTED_HEADER]: String(resync.startedAt), [PARTITIONS_HEADER]: String(partitions) };
    return Array.from({ length: partitions }, (_, partition) => ({ topic: s.topic, key, value: null, headers, partition }));
  }

  /** Waits until the transaction in flight (if any) committed; rethrows its failure. */
  async flush(): Promise<void> {
    await this.inflight;
  }

  /**
   * Appends the records of one event: the change (and a tombstone after a delete). The history copy of a
   * version follows the version itself and has the same fields: its Avro body, headers and entity key are
   * the ones just written.
   */
  private encode(s: TableSchemas, ev: ChangeEvent, syncedMs: number, last: LastBody | undefined, out: OutRecord[], generation: string | undefined, slab: Slab): LastBody {
    const history = s.spec.sync.kind === 'history';
    const deleted = ev.op === 'd';
    const hash = deleted ? undefined : ev.hash;
    const same = last !== undefined && last.row === ev.row && last.op === ev.op && last.sourceTsMs === ev.sourceTsMs;
    // History keys hold the version time too (every version is its own key); they are partitioned by the
    // entity's key as its latest-state topic writes it, so one entity's versions stay in one partition.
    const key = s.key.encode(slab, ev.key, ev.sourceTsMs);
    let partitionKey: Buffer | undefined;
    if (history) {
      const of = this.schemas.get((s.spec.sync as { of: string }).of);
      partitionKey = of && last?.table === of.spec.name && last.key === ev.key ? last.keyWire : of?.key.encode(slab, ev.key);
    }
    // Every column is present (null when unknown, e.g. a delete found by absence carries only its key).
    const value =
      same && last.fields === s.fields
        ? slab.reframed(s.valueId, last.body)
        : s.value.encode(slab, ev.row, { __op: ev.op, __deleted: deleted, __source_ts_ms: ev.sourceTsMs, __synced_ms: syncedMs });
    const sourceTs = String(ev.sourceTsMs);
    const headers = same && last.hash === hash && last.sealedKey === ev.sealedKey ? last.headers : headersOf(ev.op, sourceTs, hash, ev.sealedKey, generation);
    out.push(partitionKey ? { topic: s.topic, key, value, headers, partitionKey } : { topic: s.topic, key, value, headers });
    // A delete is followed by a tombstone so compaction can forget the row (Debezium's convention);
    // history topics keep the delete as the key's last version.
    if (deleted && !history) {
      const sealed: Record<string, string> = ev.sealedKey === undefined ? {} : { [SEALED_KEY_HEADER]: ev.sealedKey };
      if (generation !== undefined) sealed[RESYNC_HEADER] = generation;
      out.push({ topic: s.topic, key, value: null, headers: { [SOURCE_TS_HEADER]: sourceTs, ...sealed } });
    }
    return { table: s.spec.name, row: ev.row, key: ev.key, op: ev.op, sourceTsMs: ev.sourceTsMs, fields: s.fields, body: value.subarray(5), keyWire: key, hash, sealedKey: ev.sealedKey, headers };
  }
}

/** A record's headers, in their order on the wire: op, source time, hash, sealed key, re-sync generation. */
function headersOf(op: string, sourceTs: string, hash: string | undefined, sealedKey: string | undefined, generation: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { [OP_HEADER]: op, [SOURCE_TS_HEADER]: sourceTs };
  if (hash !== undefined) headers[HASH_HEADER] = hash;
  if (sealedKey !== undefined) headers[SEALED_KEY_HEADER] = sealedKey;
  if (generation !== undefined) headers[RESYNC_HEADER] = generation;
  return headers;
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
