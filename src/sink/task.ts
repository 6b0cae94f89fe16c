import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Aborted, withRetries, type Dependency } from '../retry.ts';
import { tableFromSchemas } from './avro-table.ts';
import type { InBatch, PutResult, SinkKafka, SinkTask, TopicPartition } from './kafka.ts';
import { NATIVE_NAMING, offsetKey, type Destination, type SinkNaming, type SinkTable } from './model.ts';
import { reduceBatch, type DecodedRecord } from './reduce.ts';
import { RegistryError, type SinkSchemas, type WriterSchema } from './schemas.ts';

/** A failure waiting cannot fix: the sink stops with this message. */
export class SinkError extends Error {
  override name = 'SinkError';
  readonly retriable = false;
}

export interface TaskDeps {
  readonly destination: Destination;
  readonly schemas: SinkSchemas;
  readonly kafka: Pick<SinkKafka, 'watermarks'>;
  /** `<prefix>.`: topic names minus this are table names. */
  readonly prefix: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Fires when the sink stops: retries end. */
  readonly stopped: AbortSignal;
  /** Column names in the destination (default native). */
  readonly naming?: SinkNaming;
}

/**
 * The sink task: batches of a partition → one destination transaction each. The destination's offsets
 * row is the truth: `open` reads it and the consumer starts there; each `put` moves it with a
 * compare-and-set from the offset this task last knew, so a range another sink applied first (a second
 * instance, a stale assignment) is never applied again — the batch is dropped and the consumer continues
 * from the stored offset. Transient failures of the database, the registry and Kafka are retried here.
 */
export class DestinationTask implements SinkTask {
  /** Next offset per partition as the destination stores it (null: no row yet). */
  private readonly stored = new Map<string, bigint | null>();
  private readonly tables = new Map<string, SinkTable>();
  /** The newest table seen per topic, for tombstones (they carry no value schema). */
  private readonly lastTable = new Map<string, SinkTable>();
  /** Topics whose table was widened to their newest registered schemas. */
  private readonly widened = new Set<string>();

  constructor(private readonly deps: TaskDeps) {}

  async open(partitions: readonly TopicPartition[], signal: AbortSignal): Promise<ReadonlyMap<string, bigint>> {
    const { destination, kafka } = this.deps;
    const stored = await this.retry('database', 'reading the stored offsets', () => destination.readOffsets(), signal);
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const marks = await this.retry('kafka', 'reading the log start and end offsets', () => kafka.watermarks(topics), signal);
    const starts = new Map<string, bigint>();
    for (const { topic, partition } of partitions) {
      const k = offsetKey(topic, partition);
      const m = marks.find((x) => x.topic === topic && x.partition === partition) ?? { low: 0n, high: 0n };
      const s = stored.get(k) ?? null;
      if (s !== null && s < m.low) {
        throw new SinkError(
          `${k}: the destination stopped at offset ${s}, but Kafka now starts the partition at ${m.low} (retention deleted ` +
            `records the sink never applied), so ${destination.where} would miss them. To accept the gap, delete the row ` +
            `(topic '${topic}', partition ${partition}) from _pipedrive_cdc_offsets and restart: the sink resumes at ${m.low}`,
        );
      }
      if (s !== null && s > m.high) {
        throw new SinkError(
          `${k}: the destination holds offset ${s}, beyond the partition's end ${m.high}: the topic was re-created, or ` +
            `${destination.where} belongs to another Kafka cluster or TOPIC_PREFIX. Point the sink at its own database (or schema)`,
        );
      }
      this.stored.set(k, s);
      starts.set(k, s ?? m.low);
    }
    await this.widen(topics, signal);
    this.deps.log('partitions-opened', { partitions: [...starts].map(([k, o]) => `${k}@${o}`) });
    return starts;
  }

  /**
   * Each topic's table as its newest registered schemas describe it, once per topic: a column the producer
   * added (a new custom field) is in the destination when the sink (re)starts, even before a row of the
   * table carries it.
   */
  private async widen(topics: readonly string[], signal: AbortSignal): Promise<void> {
    for (const topic of topics.filter((t) => !this.widened.has(t))) {
      let key, value;
      try {
        [key, value] = await this.retry(
          'registry',
          `reading the latest schemas of ${topic}`,
          () => Promise.all([this.deps.schemas.latest(`${topic}-key`), this.deps.schemas.latest(`${topic}-value`)]),
          signal,
        );
      } catch (err) {
        // A topic the producer just created, its schemas not registered yet: its first record makes the table.
        if (err instanceof RegistryError && err.status === 404) continue;
        throw err;
      }
      const table = tableFromSchemas(topic.slice(this.deps.prefix.length), key.schema, value.schema, this.deps.naming ?? NATIVE_NAMING);
      await this.retry('database', `creating or widening the table of ${topic}`, () => this.deps.destination.ensureTable(table), signal);
      this.widened.add(topic);
    }
  }

  close(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.stored.delete(offsetKey(p.topic, p.partition));
  }

  async put(batch: InBatch, revoked: AbortSignal): Promise<PutResult> {
    const { destination, metrics, log } = this.deps;
    const signal = AbortSignal.any([revoked, this.deps.stopped]);
    const k = offsetKey(batch.topic, batch.partition);
    try {
      if (!this.stored.has(k)) {
        const all = await this.retry('database', 'reading the stored offsets', () => destination.readOffsets(), signal);
        this.stored.set(k, all.get(k) ?? null);
      }
      const expected = this.stored.get(k) ?? null;
      // Below the stored offset is applied already (the consumer starts there; this is the guard).
      const fresh = expected === null ? batch.records : batch.records.filter((r) => r.offset >= expected);
      if (fresh.length === 0) return { kind: 'done' };
      const decoded = await this.decode(batch, fresh, signal);
      const now = new Date();
      const changes = reduceBatch(decoded, now);
      const next = fresh[fresh.length - 1]!.offset + 1n;
      const tables = [...new Map(decoded.map((d) => [`${d.table.name}/${d.table.columns.length}`, d.table])).values()];
      const result = await this.retry(
        'database',
        `applying ${batch.topic}/${batch.partition} up to offset ${next - 1n}`,
        async () => {
          for (const t of tables) await destination.ensureTable(t);
          return destination.apply(changes, { topic: batch.topic, partition: batch.partition, expected, next });
        },
        signal,
      );
      if (!result.applied) {
        this.stored.set(k, result.stored);
        metrics.sinkOffsetConflicts.inc();
        const resume = result.stored ?? (await this.logStart(batch.topic, batch.partition, signal));
        log('offset-conflict', { topic: batch.topic, partition: batch.partition, expected: expected === null ? null : String(expected), stored: result.stored === null ? null : String(result.stored), resumeAt: String(resume) });
        return { kind: 'rewind', offset: resume };
      }
      this.stored.set(k, next);
      metrics.sinkBatches.inc();
      for (const d of decoded) {
        metrics.sinkRows.inc({ table: d.table.name, op: d.value === null ? 't' : String(d.value.__op) });
        if (d.value && typeof d.value.__source_ts_ms === 'number') metrics.endToEndLatency.observe(Math.max(0, now.getTime() - d.value.__source_ts_ms) / 1000);
      }
      log('batch-applied', { topic: batch.topic, partition: batch.partition, firstOffset: String(fresh[0]!.offset), lastOffset: String(next - 1n), records: fresh.length });
      return { kind: 'done' };
    } catch (err) {
      if (err instanceof Aborted) return { kind: 'abandoned' };
      throw err;
    }
  }

  private async decode(batch: InBatch, records: InBatch['records'], signal: AbortSignal): Promise<DecodedRecord[]> {
    const out: DecodedRecord[] = [];
    for (const r of records) {
      const where = `${batch.topic}/${batch.partition}@${r.offset}`;
      if (!r.key) throw new SinkError(`${where} has no key; records of ${this.deps.prefix}* are always keyed`);
      const keyWriter = await this.writer(r.key, where, signal);
      const valueWriter = r.value ? await this.writer(r.value, where, signal) : null;
      const table = await this.tableFor(batch.topic, keyWriter, valueWriter, signal);
      out.push({ table, offset: r.offset, key: decodeWith(keyWriter, r.key, where), value: r.value && valueWriter ? decodeWith(valueWriter, r.value, where) : null });
    }
    return out;
  }

  private writer(buffer: Buffer, where: string, signal: AbortSignal): Promise<WriterSchema> {
    return this.retry('registry', `reading the writer schema of ${where}`, () => this.deps.schemas.writerOf(buffer), signal);
  }

  private async tableFor(topic: string, key: WriterSchema, value: WriterSchema | null, signal: AbortSignal): Promise<SinkTable> {
    if (!value) {
      const last = this.lastTable.get(topic);
      if (last) return last;
    }
    const v = value ?? (await this.retry('registry', `reading the latest schema of ${topic}-value`, () => this.deps.schemas.latest(`${topic}-value`), signal));
    const cacheKey = `${topic}#${key.id}#${v.id}`;
    let table = this.tables.get(cacheKey);
    if (!table) {
      table = tableFromSchemas(topic.slice(this.deps.prefix.length), key.schema, v.schema, this.deps.naming ?? NATIVE_NAMING);
      this.tables.set(cacheKey, table);
    }
    const last = this.lastTable.get(topic);
    if (!last || table.columns.length >= last.columns.length) this.lastTable.set(topic, table);
    return table;
  }

  private async logStart(topic: string, partition: number, signal: AbortSignal): Promise<bigint> {
    const marks = await this.retry('kafka', 'reading the log start offsets', () => this.deps.kafka.watermarks([topic]), signal);
    return marks.find((m) => m.partition === partition)?.low ?? 0n;
  }

  /** Retries transient failures; once `signal` fired, any failure means "given up" (Aborted), not a fatal error. */
  private async retry<T>(dependency: Dependency, what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const { log, metrics } = this.deps;
    try {
      return await withRetries(fn, { dependency, what, log, signal, onRetry: (d) => metrics.retries.inc({ dependency: d }) });
    } catch (err) {
      if (signal.aborted && !(err instanceof Aborted)) throw new Aborted();
      throw err;
    }
  }
}

function decodeWith(writer: WriterSchema, buffer: Buffer, where: string): Record<string, unknown> {
  try {
    return writer.type.fromBuffer(buffer.subarray(5)) as Record<string, unknown>;
  } catch (err) {
    throw new SinkError(`${where} cannot be decoded with its writer schema ${writer.id}: ${(err as Error).message}`, { cause: err });
  }
}
