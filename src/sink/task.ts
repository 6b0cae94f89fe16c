import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Aborted, withRetries, type Dependency } from '../retry.ts';
import { rowDecoderFor, type RecordMeta, type RowDecoder } from './avro-rows.ts';
import { tableFromSchemas } from './avro-table.ts';
import type { InBatch, PutResult, SinkKafka, SinkTask, TopicPartition } from './kafka.ts';
import { NATIVE_NAMING, offsetKey, type ApplyItem, type ApplyResult, type Destination, type SinkNaming, type SinkTable, type SinkValue } from './model.ts';
import { reduceBatch, type DecodedRecord } from './reduce.ts';
import { resyncOf, splitMarkers } from './resync.ts';
import { RegistryError, type SinkSchemas, type WriterSchema } from './schemas.ts';

/** A batch waiting for (or in) a group transaction. */
interface Pending {
  readonly item: ApplyItem;
  readonly records: number;
  readonly tables: readonly SinkTable[];
  readonly signal: AbortSignal;
  /** Part of the transaction being attempted: its outcome decides, not the signal. */
  inFlight: boolean;
  settled: boolean;
  settle(outcome: Outcome): void;
  fail(err: unknown): void;
}

type Outcome = { readonly kind: 'result'; readonly result: ApplyResult; readonly expected: bigint | null; readonly transaction: number } | { readonly kind: 'abandoned' };

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
  /** Records one database transaction takes at most (SINK_MAX_TRANSACTION_RECORDS; default 50,000). */
  readonly maxTransactionRecords?: number;
  /** Column names in the destination (default native). */
  readonly naming?: SinkNaming;
}

/**
 * The sink task: batches of partitions → destination transactions. The destination's offsets row is the
 * truth: `open` reads it and the consumer starts there; each `put` moves it with a compare-and-set from the
 * offset this task last knew, so a range another sink applied first (a second instance, a stale assignment)
 * is never applied again — the batch is dropped and the consumer continues from the stored offset.
 *
 * `put`s of different partitions run concurrently (the consumer hands over several partitions at once): each
 * decodes and reduces its batch, then joins the queue of the one applier, which applies everything queued
 * when the database is free — up to `maxTransactionRecords` records — in one transaction, each batch with
 * its own compare-and-set (group commit). A `put` resolves once its batch is queued (`queued`, with the
 * promise of how it ended: committed, refused, given up), so the consumer fetches the next batches and they
 * are decoded while the database applies this group; the next batch of a partition is queued only after the
 * partition's previous one committed (its compare-and-set expects that one's end). Transient failures of
 * the database, the registry and Kafka are retried here.
 */
export class DestinationTask implements SinkTask {
  /** Next offset per partition as the destination stores it (null: no row yet). */
  private readonly stored = new Map<string, bigint | null>();
  private readonly tables = new Map<string, SinkTable>();
  /** The newest table seen per topic, for tombstones (they carry no value schema). */
  private readonly lastTable = new Map<string, SinkTable>();
  /** Topics whose table was widened to their newest registered schemas. */
  private readonly widened = new Set<string>();
  /** Writer schemas by id (the registry's are immutable): decoding a record needs no await when known. */
  private readonly writers = new Map<number, WriterSchema>();
  /** Batches waiting for the applier, in arrival order. */
  private readonly queue: Pending[] = [];
  private applying = false;
  /** The applier's run, while it has work. */
  private draining: Promise<void> = Promise.resolve();
  /** Numbers the group transactions (the `transaction` field of `batch-applied`). */
  private transactions = 0;
  /** Per partition, its last batch handed to the applier and not settled yet: where the next one starts. */
  private readonly queued = new Map<string, { readonly next: bigint; readonly applied: Promise<Exclude<PutResult, { kind: 'queued' }>> }>();

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
    const { destination } = this.deps;
    const signal = AbortSignal.any([revoked, this.deps.stopped]);
    const k = offsetKey(batch.topic, batch.partition);
    try {
      if (!this.stored.has(k)) {
        const all = await this.retry('database', 'reading the stored offsets', () => destination.readOffsets(), signal);
        this.stored.set(k, all.get(k) ?? null);
      }
      // Where this batch starts if the partition's previous batch, still being applied, commits.
      const previous = this.queued.get(k);
      const from = previous ? previous.next : (this.stored.get(k) ?? null);
      // Below that is applied already, or about to be (the consumer starts there; this is the guard).
      const fresh = from === null ? batch.records : batch.records.filter((r) => r.offset >= from);
      // Decoded and reduced while the previous transaction runs.
      const decoded = fresh.length > 0 ? await this.decode(batch, fresh, signal) : [];
      const now = new Date();
      // Re-sync markers are recorded with the offset, never applied as rows.
      const { rows, markers } = splitMarkers(batch.topic, batch.partition, decoded, fresh);
      const changes = rows.length > 0 ? reduceBatch(rows, now) : [];
      if (previous) {
        const prior = await untilSettled(previous.applied, signal);
        // Refused: its outcome moved the consumer back to the stored offset, and this batch is dropped with it.
        if (prior.kind !== 'done') return { kind: 'abandoned' };
      }
      if (!this.stored.has(k)) return { kind: 'abandoned' }; // closed meanwhile (revoked)
      const expected = this.stored.get(k) ?? null;
      if (expected !== from) {
        // The partition was opened again meanwhile (a rebalance kept it here) at another stored offset.
        return { kind: 'rewind', offset: expected ?? (await this.logStart(batch.topic, batch.partition, signal)) };
      }
      if (fresh.length === 0) return { kind: 'done' };
      const next = fresh[fresh.length - 1]!.offset + 1n;
      const tables = [...new Map(decoded.map((d) => [d.table, d.table])).values()];
      const item = { changes, offset: { topic: batch.topic, partition: batch.partition, expected, next }, ...(markers.length > 0 ? { markers } : {}) };
      const outcome = this.submit(item, fresh.length, tables, signal);
      const applied = outcome.then((o) => this.settled(batch, k, o, rows, now, fresh[0]!.offset, next));
      this.queued.set(k, { next, applied });
      const forget = () => {
        if (this.queued.get(k)?.applied === applied) this.queued.delete(k);
      };
      applied.then(forget, forget);
      return { kind: 'queued', applied };
    } catch (err) {
      if (err instanceof Aborted) return { kind: 'abandoned' };
      throw err;
    }
  }

  /** What became of a queued batch: its offsets row moved (metrics, `batch-applied`), refused, or given up. */
  private async settled(batch: InBatch, k: string, outcome: Outcome, decoded: readonly DecodedRecord[], now: Date, first: bigint, next: bigint): Promise<Exclude<PutResult, { kind: 'queued' }>> {
    const { metrics, log } = this.deps;
    if (outcome.kind === 'abandoned') return { kind: 'abandoned' };
    const { result } = outcome;
    const expected = outcome.expected;
    if (!result.applied) {
      this.stored.set(k, result.stored);
      metrics.sinkOffsetConflicts.inc();
      let resume: bigint;
      try {
        resume = result.stored ?? (await this.logStart(batch.topic, batch.partition, this.deps.stopped));
      } catch (err) {
        if (err instanceof Aborted) return { kind: 'abandoned' };
        throw err;
      }
      log('offset-conflict', { topic: batch.topic, partition: batch.partition, expected: expected === null ? null : String(expected), stored: result.stored === null ? null : String(result.stored), resumeAt: String(resume) });
      return { kind: 'rewind', offset: resume };
    }
    this.stored.set(k, next);
    metrics.sinkBatches.inc();
    const rows = new Map<string, { table: string; op: string; n: number }>();
    const nowMs = now.getTime();
    for (const d of decoded) {
      const op = d.value === null ? 't' : String(d.value.__op);
      const key = `${d.table.name}\u0000${op}`;
      const c = rows.get(key);
      if (c) c.n++;
      else rows.set(key, { table: d.table.name, op, n: 1 });
      if (d.value && typeof d.value.__source_ts_ms === 'number') metrics.endToEndLatency.observe(Math.max(0, nowMs - d.value.__source_ts_ms) / 1000);
    }
    for (const c of rows.values()) metrics.sinkRows.inc({ table: c.table, op: c.op }, c.n);
    log('batch-applied', { topic: batch.topic, partition: batch.partition, firstOffset: String(first), lastOffset: String(next - 1n), records: decoded.length, transaction: outcome.transaction });
    return { kind: 'done' };
  }

  /** Queues a batch for the applier; resolves once its group transaction committed (or refused it), or with `abandoned` once `signal` fired while it was not in a transaction. */
  private submit(item: ApplyItem, records: number, tables: readonly SinkTable[], signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const p: Pending = {
        item,
        records,
        tables,
        signal,
        inFlight: false,
        settled: false,
        settle: (outcome) => {
          if (p.settled) return;
          p.settled = true;
          signal.removeEventListener('abort', onAbort);
          const i = this.queue.indexOf(p);
          if (i >= 0) this.queue.splice(i, 1);
          resolve(outcome);
        },
        fail: (err) => {
          if (p.settled) return;
          p.settled = true;
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      // Revoked or stopped while waiting (for its turn, or between retries): given up for the next owner.
      const onAbort = () => {
        if (!p.inFlight) p.settle({ kind: 'abandoned' });
      };
      if (signal.aborted) return resolve({ kind: 'abandoned' });
      signal.addEventListener('abort', onAbort);
      this.queue.push(p);
      if (!this.applying) this.draining = this.drain();
    });
  }

  /** Resolves once no transaction is in flight any more (the sink stops: nothing may close under one). */
  async idle(): Promise<void> {
    while (this.applying) await this.draining;
  }

  /** The applier: one group transaction at a time, each taking the batches queued when it starts. */
  private async drain(): Promise<void> {
    if (this.applying) return;
    this.applying = true;
    try {
      for (;;) {
        // The puts of one fetch run together and decode without waiting on I/O (and those waiting for the
        // transaction that just ended queue right after it): a turn of the event loop lets them all queue, so
        // they share one transaction instead of the first going alone.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.queue.length === 0) break;
        const group: Pending[] = [];
        const max = this.deps.maxTransactionRecords ?? 50_000;
        let records = 0;
        for (const p of this.queue) {
          if (group.length > 0 && records + p.records > max) break;
          group.push(p);
          records += p.records;
        }
        this.queue.splice(0, group.length);
        await this.applyGroup(group);
      }
    } finally {
      this.applying = false;
    }
  }

  private async applyGroup(group: readonly Pending[]): Promise<void> {
    const { destination } = this.deps;
    // Retries end when the sink stops or every batch of the group was given up.
    const gone = new AbortController();
    const check = () => {
      if (group.every((p) => p.settled)) gone.abort();
    };
    for (const p of group) p.signal.addEventListener('abort', check);
    const signal = AbortSignal.any([this.deps.stopped, gone.signal]);
    const transaction = ++this.transactions;
    try {
      await this.retry(
        'database',
        `applying ${group.map((p) => `${p.item.offset.topic}/${p.item.offset.partition} up to offset ${p.item.offset.next - 1n}`).join(', ')}`,
        async () => {
          const live = group.filter((p) => !p.settled);
          if (live.length === 0) throw new Aborted();
          for (const p of live) p.inFlight = true;
          try {
            for (const t of new Set(live.flatMap((p) => p.tables))) await destination.ensureTable(t);
            const results = await destination.applyAll(live.map((p) => p.item));
            live.forEach((p, i) => p.settle({ kind: 'result', result: results[i]!, expected: p.item.offset.expected, transaction }));
          } finally {
            for (const p of live) {
              p.inFlight = false;
              if (p.signal.aborted) p.settle({ kind: 'abandoned' });
            }
            check();
          }
        },
        signal,
      );
    } catch (err) {
      for (const p of group) {
        if (err instanceof Aborted) p.settle({ kind: 'abandoned' });
        else p.fail(err);
      }
    } finally {
      for (const p of group) p.signal.removeEventListener('abort', check);
    }
  }

  private async decode(batch: InBatch, records: InBatch['records'], signal: AbortSignal): Promise<DecodedRecord[]> {
    const out: DecodedRecord[] = new Array<DecodedRecord>(records.length);
    const meta: RecordMeta = { op: '', deleted: false, sourceTsMs: null };
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!r.key) throw new SinkError(`${batch.topic}/${batch.partition}@${r.offset} has no key; records of ${this.deps.prefix}* are always keyed`);
      // Known schemas and tables are looked up without awaiting; the registry is asked once per new id.
      const keyWriter = this.known(r.key) ?? (await this.writer(r.key, batch, r.offset, signal));
      const valueWriter = r.value ? (this.known(r.value) ?? (await this.writer(r.value, batch, r.offset, signal))) : null;
      const table = this.knownTable(batch.topic, keyWriter, valueWriter) ?? (await this.tableFor(batch.topic, keyWriter, valueWriter, signal));
      const key = decodeWith(keyWriter, r.key, batch, r.offset);
      const rows = r.value && valueWriter ? rowDecoderFor(valueWriter.schema, table) : null;
      if (!r.value || !valueWriter) out[i] = { table, offset: r.offset, key, value: null, resync: resyncOf(r) };
      else if (!rows) out[i] = { table, offset: r.offset, key, value: decodeWith(valueWriter, r.value, batch, r.offset), resync: resyncOf(r) };
      else {
        const row = decodeWith(valueWriter, r.value, batch, r.offset, rows, meta) as Record<string, SinkValue>;
        out[i] = { table, offset: r.offset, key, value: { __op: meta.op, __deleted: meta.deleted, __source_ts_ms: meta.sourceTsMs }, row, resync: resyncOf(r) };
      }
    }
    return out;
  }

  private known(buffer: Buffer): WriterSchema | undefined {
    return buffer.length >= 5 && buffer[0] === 0 ? this.writers.get(buffer.readInt32BE(1)) : undefined;
  }

  private async writer(buffer: Buffer, batch: InBatch, offset: bigint, signal: AbortSignal): Promise<WriterSchema> {
    const w = await this.retry('registry', `reading the writer schema of ${batch.topic}/${batch.partition}@${offset}`, () => this.deps.schemas.writerOf(buffer), signal);
    this.writers.set(w.id, w);
    return w;
  }

  /** The table of a record whose schemas were seen before on this topic (for tombstones: the newest table). */
  private knownTable(topic: string, key: WriterSchema, value: WriterSchema | null): SinkTable | undefined {
    if (!value) return this.lastTable.get(topic);
    return this.tables.get(`${topic}#${key.id}#${value.id}`);
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

/** The record's Avro body by avsc, or straight to the table's row by `rows` (src/sink/avro-rows.ts). */
function decodeWith(writer: WriterSchema, buffer: Buffer, batch: InBatch, offset: bigint, rows?: RowDecoder, meta?: RecordMeta): Record<string, unknown> {
  try {
    return rows ? rows(buffer.subarray(5), meta!) : (writer.type.fromBuffer(buffer.subarray(5)) as Record<string, unknown>);
  } catch (err) {
    throw new SinkError(`${batch.topic}/${batch.partition}@${offset} cannot be decoded with its writer schema ${writer.id}: ${(err as Error).message}`, { cause: err });
  }
}

/** `promise`'s value, or Aborted once `signal` fires first. */
function untilSettled<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}
