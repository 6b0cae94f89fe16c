/** The small Kafka contract the sink needs (implemented over kafkajs in kafkajs-kafka.ts). */
export interface InRecord {
  readonly offset: bigint;
  readonly key: Buffer | null;
  /** null = tombstone. */
  readonly value: Buffer | null;
}

export interface InBatch {
  readonly topic: string;
  readonly partition: number;
  /** Committed data records in offset order (read_committed: aborted records and markers never appear). */
  readonly records: readonly InRecord[];
}

export interface SinkKafka {
  /** Topics matching the subscription right now. */
  listTopics(): Promise<string[]>;
  /**
   * Consumes the topics in a consumer group, read_committed, calling `handle` per fetched partition batch.
   * When `handle` resolves, the batch is applied: its offsets are committed to Kafka as a hint (the
   * destination's own offsets are the truth). `onPosition` reports the consumer position per partition,
   * transaction markers included, for the lag metric.
   */
  run(
    topics: readonly string[],
    handle: (batch: InBatch) => Promise<void>,
    onPosition: (topic: string, partition: number, next: bigint) => void,
    onFatal: (error: Error) => void,
  ): Promise<void>;
  /** Leaves the group (to subscribe again to a changed topic list). */
  stopConsuming(): Promise<void>;
  /** Log end offsets (high watermarks) per topic partition. */
  endOffsets(topics: readonly string[]): Promise<Array<{ topic: string; partition: number; end: bigint }>>;
  close(): Promise<void>;
}
