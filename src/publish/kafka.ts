/**
 * The small Kafka contract the producer needs. kafkajs has had no release since 2023, so it stays behind
 * these interfaces (implemented in kafkajs-kafka.ts) and can be swapped without touching capture or publish.
 * Every method throws KafkaError (src/kafka/errors.ts): `retriable` for outages the caller waits out,
 * `kind: 'fenced'` when another instance took over the transactional id.
 */
export interface OutRecord {
  readonly topic: string;
  readonly key: Buffer;
  /** null = tombstone. */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Bytes the partition is chosen by instead of the key (default: the key). History records, keyed by
   * entity and version, are partitioned by the entity's key alone, so one entity's versions share a
   * partition (and its order).
   */
  readonly partitionKey?: Buffer;
  /** The partition to write to, bypassing the partitioner (re-sync markers go to every partition). */
  readonly partition?: number;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted: boolean;
  /** Replicas per partition; clamped to the number of brokers (a single development broker gets 1). */
  readonly replicationFactor: number;
  /** Replicas that must have a write before it counts (with acks=all); clamped to the replication factor. */
  readonly minInsyncReplicas: number;
  /** `retention.ms`; -1 keeps records forever (history topics). Default: the broker's. */
  readonly retentionMs?: number;
  /** Largest record the topic accepts (the state topic allows more than the 1 MB default). */
  readonly maxMessageBytes?: number;
}

/** A key as last written to a topic. */
export interface TopicKey {
  readonly key: Buffer;
  /** False when the key's last record is a tombstone. */
  readonly live: boolean;
  /** A header of that last record, as text. */
  header(name: string): string | undefined;
}

/**
 * Connected means fenced: the transactional id is initialised before anything is read, so an older
 * instance with the same id can no longer commit, and its last transaction is complete (committed or
 * aborted, markers written) before the state topic is read.
 */
export interface ProducerKafka {
  /** Creates the topics that don't exist yet (existing ones are left as they are). */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Every record of a compacted topic, read to its end with read_committed: key (UTF-8) → last value. */
  readCompacted(topic: string): Promise<Map<string, Buffer | null>>;
  /**
   * The keys of the topics read to their end (read_committed), in one read, handed to `onKey` as they come:
   * in offset order within a partition (a key's last record comes last), nothing held. Topics that do not
   * exist yet have none. With `from` (topic → partition → offset), those partitions are read from there on
   * (the caller holds what lies before, a key index snapshot).
   */
  readKeys(topics: readonly string[], onKey: (topic: string, key: TopicKey) => void, from?: ReadonlyMap<string, ReadonlyMap<number, bigint>>): Promise<void>;
  /** Each partition's log start and end offset (existing topics only; a missing topic has none). */
  topicOffsets(topic: string): Promise<Array<{ partition: number; low: bigint; high: bigint }>>;
  /** The cluster's id: where offsets of one cluster are kept, another's must not be taken for them. */
  clusterId(): Promise<string>;
  /**
   * Writes the records in one Kafka transaction: all become visible to read_committed consumers, or none.
   * A second instance with the same transactional id fences this one (KafkaError kind `fenced`). After any
   * failure the outcome of the transaction is unknown to the caller: reconnect (which completes or aborts
   * it) and read the state topic again before writing more.
   */
  writeTransaction(records: readonly OutRecord[]): Promise<void>;
  /** The number of partitions of each existing topic (re-sync markers are written to each of them). */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}
