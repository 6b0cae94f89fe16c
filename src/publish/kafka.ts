/**
 * The small Kafka contract the producer needs. kafkajs has had no release since 2023, so it stays behind
 * these interfaces (implemented in kafkajs-kafka.ts) and can be swapped without touching capture or publish.
 */
export interface OutRecord {
  readonly topic: string;
  readonly key: Buffer;
  /** null = tombstone. */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted: boolean;
  /** Largest record the topic accepts (state records of re-imported tables can exceed the 1 MB default). */
  readonly maxMessageBytes?: number;
}

export interface ProducerKafka {
  /** Creates the topics that don't exist yet (existing ones are left as they are). */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Every record of a compacted topic, read to its end with read_committed: key (UTF-8) → last value. */
  readCompacted(topic: string): Promise<Map<string, Buffer | null>>;
  /** The keys of a topic read to its end (read_committed), each with whether its last record is a tombstone. */
  readKeys(topic: string): Promise<Array<{ key: Buffer; live: boolean }>>;
  /**
   * Writes the records in one Kafka transaction: all become visible to read_committed consumers, or none.
   * A second instance with the same transactional id fences this one.
   */
  writeTransaction(records: readonly OutRecord[]): Promise<void>;
  close(): Promise<void>;
}
