import { kafkaLogCreator } from '../observe/log.ts';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { failpoint } from '../failpoint.ts';
import type { OutRecord, ProducerKafka, TopicSpec } from './kafka.ts';

export interface KafkajsOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Stable per connector so a zombie instance is fenced. */
  readonly transactionalId: string;
}

/** ProducerKafka over kafkajs: an idempotent transactional producer plus an admin client. */
export async function connectProducerKafka(opts: KafkajsOptions): Promise<ProducerKafka> {
  const kafka = new Kafka({ clientId: opts.clientId, brokers: [...opts.brokers], logLevel: logLevel.WARN, logCreator: kafkaLogCreator('producer') });
  const admin = kafka.admin();
  await admin.connect();
  const producer: Producer = kafka.producer({
    transactionalId: opts.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
    // Java's murmur2 partitioner (kafkajs' default since 2.0), named so keys land where Java clients put them.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // connect() initialises the producer id for the transactional id: this aborts a dead instance's open
  // transaction, so read_committed readers of the state topic are not blocked by it.
  await producer.connect();

  return {
    async ensureTopics(topics: readonly TopicSpec[]) {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          configEntries: [
            ...(t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
            ...(t.maxMessageBytes ? [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }] : []),
          ],
        })),
      });
    },

    async readCompacted(topic: string) {
      const result = new Map<string, Buffer | null>();
      await readToEnd(kafka, admin, topic, opts.clientId, (key, value) => result.set(key?.toString('utf8') ?? '', value));
      return result;
    },

    async readKeys(topic: string) {
      const last = new Map<string, { key: Buffer; live: boolean }>();
      await readToEnd(kafka, admin, topic, opts.clientId, (key, value) => {
        if (key) last.set(key.toString('base64'), { key, live: value !== null });
      });
      return [...last.values()];
    },

    async writeTransaction(records: readonly OutRecord[]) {
      const tx = await producer.transaction();
      try {
        const byTopic = new Map<string, OutRecord[]>();
        for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
        await tx.sendBatch({
          topicMessages: [...byTopic].map(([topic, rs]) => ({
            topic,
            messages: rs.map((r) => ({ key: r.key, value: r.value, headers: r.headers ? { ...r.headers } : undefined })),
          })),
        });
        failpoint('publish.before-commit');
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
      failpoint('publish.after-commit');
    },

    async close() {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}

const READ_TIMEOUT_MS = 120_000;

/**
 * Reads a topic from the beginning to the end offsets taken at the start, read_committed. Transaction
 * markers occupy offsets but are never delivered, so progress is tracked through batch end events.
 */
async function readToEnd(
  kafka: Kafka,
  admin: ReturnType<Kafka['admin']>,
  topic: string,
  clientId: string,
  onRecord: (key: Buffer | null, value: Buffer | null) => void,
): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) return;
  const ends = await admin.fetchTopicOffsets(topic);
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  if (pending.size === 0) return;
  const consumer = kafka.consumer({ groupId: `${clientId}.reader.${topic}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const reached = new Map<number, string>();
      // Never wait silently: a read that stops short of the end offsets fails with where it stopped.
      const timer = setTimeout(() => {
        const where = [...pending].map(([p, end]) => `partition ${p} at ${reached.get(p) ?? 'start'} of ${end}`).join(', ');
        reject(new Error(`reading ${topic} to its end timed out after ${READ_TIMEOUT_MS} ms (${where})`));
      }, READ_TIMEOUT_MS);
      const check = (partition: number, lastOffset: string) => {
        reached.set(partition, lastOffset);
        const target = pending.get(partition);
        if (target !== undefined && BigInt(lastOffset) >= target) pending.delete(partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => check(e.payload.partition, e.payload.lastOffset));
      // kafkajs restarts the consumer by itself on retriable crashes (e.g. a coordinator still loading).
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) reject(e.payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) onRecord(m.key, m.value);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}
