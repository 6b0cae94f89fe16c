import type { TableSpec } from '../catalog/types.ts';
import type { ChangeBatch, ChangeEvent } from '../capture/change.ts';
import { keySchema, valueSchema } from './avro-schema.ts';
import type { OutRecord, ProducerKafka, TopicSpec } from './kafka.ts';
import type { Registry } from '../registry/client.ts';
import { stateKey, stateValue } from './state.ts';

export interface PublisherOptions {
  readonly topicPrefix: string;
  readonly connector: string;
  readonly partitions: number;
  readonly now?: () => number;
}

interface TableSchemas {
  readonly topic: string;
  readonly keyId: number;
  readonly valueId: number;
}

/**
 * Turns change batches into Kafka records — Avro key and value per the record contract, a tombstone after
 * each delete — and writes them with the table's new offset in one transaction.
 */
export class Publisher {
  private readonly schemas = new Map<string, TableSchemas>();
  private readonly now: () => number;

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

  /** Creates topics and registers the key/value schemas of the given tables (TopicNameStrategy subjects). */
  async prepare(tables: readonly TableSpec[]): Promise<void> {
    const topics: TopicSpec[] = [
      { topic: this.stateTopic, partitions: 1, compacted: true },
      ...tables.map((t) => ({ topic: this.topicOf(t.name), partitions: this.opts.partitions, compacted: true })),
    ];
    await this.kafka.ensureTopics(topics);
    for (const t of tables) {
      const topic = this.topicOf(t.name);
      const keyId = await this.registry.register(`${topic}-key`, keySchema(this.opts.topicPrefix, t));
      const valueId = await this.registry.register(`${topic}-value`, valueSchema(this.opts.topicPrefix, t));
      this.schemas.set(t.name, { topic, keyId, valueId });
    }
  }

  /** Publishes the batch's events and its offset atomically. Returns the number of data records written. */
  async publish(batch: ChangeBatch): Promise<number> {
    const s = this.schemas.get(batch.table);
    if (!s) throw new Error(`publisher: table ${batch.table} was not prepared`);
    const synced = this.now();
    const records: OutRecord[] = [];
    for (const ev of batch.events) records.push(...(await this.encode(s, ev, synced)));
    records.push({
      topic: this.stateTopic,
      key: Buffer.from(stateKey(this.opts.connector, batch.table), 'utf8'),
      value: stateValue(batch.offset),
    });
    await this.kafka.writeTransaction(records);
    return records.length - 1;
  }

  private async encode(s: TableSchemas, ev: ChangeEvent, syncedMs: number): Promise<OutRecord[]> {
    const key = await this.registry.encode(s.keyId, ev.key);
    const deleted = ev.op === 'd';
    const value = await this.registry.encode(s.valueId, {
      ...ev.row,
      __op: ev.op,
      __deleted: deleted,
      __source_ts_ms: ev.sourceTsMs,
      __synced_ms: syncedMs,
    });
    const change: OutRecord = { topic: s.topic, key, value, headers: { 'pipedrive-cdc.op': ev.op } };
    // A delete is followed by a tombstone so compaction can forget the row (Debezium's convention).
    return deleted ? [change, { topic: s.topic, key, value: null }] : [change];
  }
}
