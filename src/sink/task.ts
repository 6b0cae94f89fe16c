import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Aborted, withRetries, type Dependency } from '../retry.ts';
import { tableFromSchemas } from './avro-table.ts';
import type { InBatch, PutResult, SinkKafka, SinkTask, TopicPartition } from './kafka.ts';
import { NATIVE_NAMING, offsetKey, type ApplyItem, type ApplyResult, type Destination, type SinkNaming, type SinkTable } from './model.ts';
import { SinkError } from './errors.ts';
import { RecordDecoder } from './record-decoder.ts';
import { reduceBatch, type DecodedRecord } from './reduce.ts';
import { splitMarkers } from './resync.ts';
import { RegistryError, type SinkSchemas } from './schemas.ts';

/** A batch waiting for (or in) a group transaction. */
interface Pending {
  readonly item: ApplyItem;
  readonly records: number;
  readonly tables: readonly SinkTable[];
  readonly signal: AbortSignal;
  /** Part of the transaction being attempted: its outcome decides, not the signal. */
  inFlight: boolean;
  /** Taken into a group transaction (called once, when the applier takes it; the next batch of its partition may queue then). */
  start(): void;
  settled: boolean;
  settle(outcome: Outcome): void;
  fail(err: unknown): void;
}

type Ended = Exclude<PutResult, { kind: 'queued' }>;

/** What `started` resolves to: the batch was taken into a group transaction. */
const STARTED = Symbol('started');

type Outcome = { readonly kind: 'result'; readonly result: ApplyResult; readonly expected: bigint | null; readonly transaction: number } | { readonly kind: 'abandoned' };

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
 * are decoded while the database applies this group; the next batch of a partition is queued once the
 * partition's previous one is in a transaction (its compare-and-set expects that one's end; it is applied in a
 * later transaction, and dropped if that one does not commit). Transient failures of
 * the database, the registry and Kafka are retried here.
 */
export class DestinationTask implements SinkTask {
  /** Next offset per partition as the destination stores it (null: no row yet). */
  private readonly stored = new Map<string, bigint | null>();
  /** Topics whose table was widened to their newest registered schemas. */
  private readonly widened = new Set<string>();
  /** Batches waiting for the applier, in arrival order. */
  private readonly queue: Pending[] = [];
  private applying = false;
  /** The applier's run, while it has work. */
  private draining: Promise<void> = Promise.resolve();
  /** Numbers the group transactions (the `transaction` field of `batch-applied`). */
  private transactions = 0;
  /** Per partition, its last batch handed to the applier and not settled yet: where the next one starts. */
  private readonly queued = new Map<string, { readonly next: bigint; readonly started: Promise<typeof STARTED>; readonly applied: Promise<Ended> }>();

  private readonly decoder: RecordDecoder;

  constructor(private readonly deps: TaskDeps) {
    this.decoder = new RecordDecoder(deps.schemas, deps.prefix, deps.naming ?? NATIVE_NAMING, (what, fn, signal) => this.retry('registry', what, fn, signal));
  }

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
      const decoded = fresh.length > 0 ? await this.decoder.decode(batch, fresh, signal) : [];
      const now = new Date();
      // Re-sync markers are recorded with the offset, never applied as rows.
      const { rows, markers } = splitMarkers(batch.topic, batch.partition, decoded, fresh);
      const changes = rows.length > 0 ? reduceBatch(rows, now) : [];
      // A batch with records queues as soon as the previous one's transaction started (so the consumer fetches
      // the next while that transaction runs, and the applier finds the next group waiting): its compare-and-set
      // expects the previous one's end, it goes into a later transaction (the applier runs one at a time, in
      // queue order), and it is dropped if the previous one ends otherwise than committed. An empty one waits
      // for the commit: the consumer moves past it at once.
      const prior = previous ? await untilSettled(fresh.length > 0 ? Promise.race([previous.started, previous.applied]) : previous.applied, signal) : undefined;
      // Refused: its outcome moved the consumer back to the stored offset, and this batch is dropped with it.
      if (prior !== undefined && prior !== STARTED && prior.kind !== 'done') return { kind: 'abandoned' };
      if (!this.stored.has(k)) return { kind: 'abandoned' }; // closed meanwhile (revoked)
      const expected = prior === STARTED ? from : (this.stored.get(k) ?? null);
      if (expected !== from) {
        // The partition was opened again meanwhile (a rebalance kept it here) at another stored offset.
        return { kind: 'rewind', offset: expected ?? (await this.logStart(batch.topic, batch.partition, signal)) };
      }
      if (fresh.length === 0) return { kind: 'done' };
      const next = fresh[fresh.length - 1]!.offset + 1n;
      const tables = [...new Map(decoded.map((d) => [d.table, d.table])).values()];
      const item = { changes, offset: { topic: batch.topic, partition: batch.partition, expected, next }, ...(markers.length > 0 ? { markers } : {}) };
      const { outcome, started } = this.submit(item, fresh.length, tables, signal, prior === STARTED ? previous!.applied : undefined);
      const applied = outcome.then((o) => this.settled(batch, k, o, rows, now, fresh[0]!.offset, next));
      this.queued.set(k, { next, started, applied });
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
  private async settled(batch: InBatch, k: string, outcome: Outcome, decoded: readonly DecodedRecord[], now: Date, first: bigint, next: bigint): Promise<Ended> {
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

  /**
   * Queues a batch for the applier: `outcome` resolves once its group transaction committed (or refused it), or
   * with `abandoned` once `signal` fired while it was not in a transaction, or once `behind` (the partition's
   * previous batch) ended otherwise than committed before this one's transaction started; `started` once the
   * applier took it (or it was settled without).
   */
  private submit(item: ApplyItem, records: number, tables: readonly SinkTable[], signal: AbortSignal, behind?: Promise<Ended>): { outcome: Promise<Outcome>; started: Promise<typeof STARTED> } {
    let markStarted: () => void = () => undefined;
    const started = new Promise<typeof STARTED>((resolve) => (markStarted = () => resolve(STARTED)));
    const outcome = new Promise<Outcome>((resolve, reject) => {
      const p: Pending = {
        item,
        records,
        tables,
        signal,
        inFlight: false,
        settled: false,
        start: markStarted,
        settle: (outcome) => {
          if (p.settled) return;
          p.settled = true;
          markStarted();
          signal.removeEventListener('abort', onAbort);
          const i = this.queue.indexOf(p);
          if (i >= 0) this.queue.splice(i, 1);
          resolve(outcome);
        },
        fail: (err) => {
          if (p.settled) return;
          p.settled = true;
          markStarted();
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      // Revoked or stopped while waiting (for its turn, or between retries): given up for the next owner.
      const onAbort = () => {
        if (!p.inFlight) p.settle({ kind: 'abandoned' });
      };
      if (signal.aborted) return p.settle({ kind: 'abandoned' });
      signal.addEventListener('abort', onAbort);
      // The previous batch refused or given up: this one's compare-and-set would fail; it goes with it.
      const drop = () => {
        if (!p.inFlight) p.settle({ kind: 'abandoned' });
      };
      behind?.then((end) => end.kind !== 'done' && drop(), drop);
      this.queue.push(p);
      if (!this.applying) this.draining = this.drain();
    });
    return { outcome, started };
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
        for (const p of group) p.start();
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
