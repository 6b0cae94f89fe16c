import { Partitioners, type ICustomPartitioner, type Message, type Producer } from 'kafkajs';
import { failpoint } from '../failpoint.ts';
import { checkConnection, createKafka, type KafkaConnection } from '../kafka/connection.ts';
import { KafkaError, kafkaCall } from '../kafka/errors.ts';
import { readTopicsToEnd } from '../kafka/read-to-end.ts';
import type { Logger } from '../observe/log.ts';
import type { OutRecord, ProducerKafka, TopicKey, TopicSpec } from './kafka.ts';

export interface KafkajsOptions extends KafkaConnection {
  readonly clientId: string;
  /** Stable per connector so a zombie instance is fenced. */
  readonly transactionalId: string;
  readonly log: Logger;
}

/**
 * ProducerKafka over kafkajs: an idempotent transactional producer plus an admin client. Connecting fences:
 * kafkajs' connect() only fetches a non-transactional producer id, and would initialise the transactional
 * id at the first transaction — after this instance had already read state that an older instance could
 * still change. So an empty transaction is begun and aborted right away: its InitProducerId bumps the
 * epoch (the older instance's next write fails as fenced) and returns only once the older instance's open
 * transaction is complete, markers written.
 */
export async function connectProducerKafka(opts: KafkajsOptions): Promise<ProducerKafka> {
  const kafka = createKafka(opts, opts.clientId, 'producer');
  const admin = kafka.admin();
  const producer: Producer = kafka.producer({
    transactionalId: opts.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
    // Java's murmur2 partitioner (kafkajs' default since 2.0), named so keys land where Java clients put them;
    // a record's `partitionKey` (OutRecord) stands in for its key.
    createPartitioner: byPartitionKey,
  });
  const close = async () => {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  };
  try {
    await checkConnection(opts);
    await kafkaCall(`connecting to ${opts.brokers.join(',')}`, () => admin.connect());
    await kafkaCall(`connecting the producer to ${opts.brokers.join(',')}`, () => producer.connect());
    await kafkaCall(`initialising transactional id ${opts.transactionalId}`, async () => {
      const fence = await producer.transaction();
      await fence.abort();
    });
  } catch (err) {
    await close();
    throw err;
  }
  opts.log('kafka-connected', { brokers: opts.brokers, transactionalId: opts.transactionalId });
  const reader = { clientId: opts.clientId, log: opts.log };

  return {
    async ensureTopics(topics: readonly TopicSpec[]) {
      const existing = new Set(await kafkaCall('listing topics', () => admin.listTopics()));
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return;
      const { brokers } = await kafkaCall('describing the cluster', () => admin.describeCluster());
      const created = missing.map((t) => {
        const replicationFactor = Math.max(1, Math.min(t.replicationFactor, brokers.length));
        const minInsync = Math.max(1, Math.min(t.minInsyncReplicas, replicationFactor));
        if (replicationFactor < t.replicationFactor) {
          opts.log('topic-replication-clamped', { topic: t.topic, wanted: t.replicationFactor, brokers: brokers.length, replicationFactor, minInsyncReplicas: minInsync });
        }
        return {
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: [
            { name: 'min.insync.replicas', value: String(minInsync) },
            ...(t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
            ...(t.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(t.retentionMs) }] : []),
            ...(t.maxMessageBytes ? [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }] : []),
          ],
        };
      });
      await kafkaCall(`creating topics ${missing.map((t) => t.topic).join(', ')}`, () => admin.createTopics({ waitForLeaders: true, topics: created }));
    },

    async readCompacted(topic: string) {
      const result = new Map<string, Buffer | null>();
      await kafkaCall(`reading ${topic}`, () => readTopicsToEnd(kafka, admin, [topic], (r) => result.set(r.key?.toString('utf8') ?? '', r.value), reader));
      return result;
    },

    async readKeys(topics: readonly string[], onKey: (topic: string, key: TopicKey) => void, from?: ReadonlyMap<string, ReadonlyMap<number, bigint>>) {
      const positions = new Map<string, bigint>();
      for (const [topic, parts] of from ?? []) for (const [p, o] of parts) positions.set(`${topic}:${p}`, o);
      await kafkaCall(`reading the keys of ${topics.join(', ')}`, () =>
        readTopicsToEnd(kafka, admin, topics, (r) => {
          if (r.key) onKey(r.topic, { key: r.key, live: r.value !== null, header: r.header });
        }, { ...reader, from: positions }),
      );
    },

    async topicOffsets(topic: string) {
      const existing = await kafkaCall('listing topics', () => admin.listTopics());
      if (!existing.includes(topic)) return [];
      const parts = await kafkaCall(`reading the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
      return parts.map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }));
    },

    async clusterId() {
      return (await kafkaCall('describing the cluster', () => admin.describeCluster())).clusterId;
    },

    async writeTransaction(records: readonly OutRecord[]) {
      try {
        await kafkaCall('writing a transaction', async () => {
          const tx = await producer.transaction();
          try {
            // kafkajs sends one record batch per partition per call, and a batch over the topic's
            // max.message.bytes (1 MB by default) is refused: large transactions go out in several sends.
            for (const chunk of chunksOf(records, SEND_BYTES)) {
              const byTopic = new Map<string, OutRecord[]>();
              for (const r of chunk) {
                let list = byTopic.get(r.topic);
                if (!list) byTopic.set(r.topic, (list = []));
                list.push(r);
              }
              // The records are kafkajs messages as they are (key, value, headers, partition; kafkajs reads
              // them and changes nothing): no copy per record. The partitioner reads `partitionKey`.
              await tx.sendBatch({ topicMessages: [...byTopic].map(([topic, rs]) => ({ topic, messages: rs as unknown as Message[] })) });
            }
            failpoint('publish.before-commit');
            await tx.commit();
          } catch (err) {
            await tx.abort().catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        if (err instanceof KafkaError && err.kind === 'too-large') {
          const largest = records.reduce((a, b) => (sizeOf(b) > sizeOf(a) ? b : a));
          throw new KafkaError('too-large', `${err.message}: its largest record (topic ${largest.topic}) is ${sizeOf(largest)} bytes; raise max.message.bytes of that topic`, { cause: err });
        }
        throw err;
      }
      failpoint('publish.after-commit');
    },

    async partitionCounts(topics: readonly string[]) {
      if (topics.length === 0) return new Map<string, number>();
      const { topics: described } = await kafkaCall('describing topics', () => admin.fetchTopicMetadata({ topics: [...topics] }));
      return new Map(described.map((t) => [t.name, t.partitions.length]));
    },

    close,
  };
}

/** The default partitioner, on the record's partition key when it has one (kafkajs passes the message as given: our OutRecord). */
const byPartitionKey: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  return ({ topic, partitionMetadata, message }) => {
    const key = (message as unknown as OutRecord).partitionKey;
    return partition({ topic, partitionMetadata, message: key ? { key, value: null } : message });
  };
};

/** Bytes of records per send: half of Kafka's default max.message.bytes, room for batch overhead. */
const SEND_BYTES = 512 * 1024;

function sizeOf(r: OutRecord): number {
  let n = r.key.length + (r.value?.length ?? 0) + 64;
  const headers = r.headers;
  if (headers) for (const k in headers) n += k.length + headers[k]!.length;
  return n;
}

/** Consecutive records in groups of at most `maxBytes` (a larger record goes alone). */
function* chunksOf(records: readonly OutRecord[], maxBytes: number): Generator<OutRecord[]> {
  let chunk: OutRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = sizeOf(r);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
