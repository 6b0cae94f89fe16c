/**
 * The Kafka side of the sink, in Kafka Connect's terms: the consumer (kafkajs-kafka.ts) drives a SinkTask
 * (task.ts) — `open` on every assignment, `put` per fetched batch, `close` on revocation. There is no
 * separate flush: each batch commits with its offset in one database transaction (which may end after `put`
 * returned, so the next fetch overlaps it). The destination's
 * stored offsets are the truth: `open` says where each partition starts, `put` may say "continue from
 * here" when the destination holds another position. The Kafka group offset is only a hint for tools.
 */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface InRecord {
  readonly offset: bigint;
  readonly key: Buffer | null;
  /** null = tombstone. */
  readonly value: Buffer | null;
  /** The record's headers the sink reads (src/sink/resync.ts: SINK_HEADERS), as text. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InBatch {
  readonly topic: string;
  readonly partition: number;
  /** Committed data records in offset order (read_committed: aborted records and markers never appear). */
  readonly records: readonly InRecord[];
}

export type PutResult =
  /** Applied (or nothing in it was new): the consumer moves past the batch. */
  | { readonly kind: 'done' }
  /** The destination holds another position (another sink applied this range): continue from `offset`. */
  | { readonly kind: 'rewind'; readonly offset: bigint }
  /** Given up because the consumer lost its partitions meanwhile (`signal` fired): the next owner applies it. */
  | { readonly kind: 'abandoned' }
  /**
   * Handed to the database, not committed yet: the consumer fetches on (the next batch is decoded while this
   * one is applied) and learns the batch's end from `applied` — `done` once committed (only then is it
   * consumed, for lag and the group offset), `rewind` when the destination refused it, `abandoned` when it
   * was given up; it rejects with the failure that stops the sink.
   */
  | { readonly kind: 'queued'; readonly applied: Promise<{ readonly kind: 'done' } | { readonly kind: 'rewind'; readonly offset: bigint } | { readonly kind: 'abandoned' }> };

export interface SinkTask {
  /**
   * Called with the full assignment after every group join, before anything is fetched for it: resolves to
   * the offset each partition starts at. Rejects only for failures waiting cannot fix (the sink stops).
   */
  open(partitions: readonly TopicPartition[], signal: AbortSignal): Promise<ReadonlyMap<string, bigint>>;
  /**
   * Applies one batch of one partition, atomically with its offset; transient failures are retried inside.
   * `signal` fires when the partition was revoked meanwhile. Rejects only for failures waiting cannot fix.
   * May resolve before the batch is committed (`queued`); the next batch of the partition is then put only
   * after this one resolved, and waits inside until this one is in a transaction: it is applied in a later one,
   * and dropped if this one does not commit.
   */
  put(batch: InBatch, signal: AbortSignal): Promise<PutResult>;
  /** Partitions this instance no longer owns. */
  close(partitions: readonly TopicPartition[]): void;
}

export interface Watermarks {
  readonly topic: string;
  readonly partition: number;
  /** Log start offset (the earliest record still there). */
  readonly low: bigint;
  /** Log end offset (high watermark). */
  readonly high: bigint;
}

export interface SinkKafka {
  /** Topics matching the subscription right now. */
  listTopics(): Promise<string[]>;
  /**
   * Consumes the topics in a consumer group, read_committed, driving `task`. Transient Kafka failures are
   * waited out (kafkajs restarts its consumer; when it gives up, a new consumer is built and every partition
   * re-opened). `onPosition` reports the consumer position per partition, transaction markers included, for
   * the lag metric; `onFatal` reports what stopped consumption for good.
   */
  run(topics: readonly string[], task: SinkTask, onPosition: (topic: string, partition: number, next: bigint) => void, onFatal: (error: Error) => void): Promise<void>;
  /** Leaves the group (to subscribe again to a changed topic list). */
  stopConsuming(): Promise<void>;
  /** Log start and end offsets per topic partition. */
  watermarks(topics: readonly string[]): Promise<Watermarks[]>;
  close(): Promise<void>;
}
