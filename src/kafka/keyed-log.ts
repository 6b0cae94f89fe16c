/**
 * A small compacted topic used as a table of records by key (the connector definitions created through the
 * admin API): read to its end at start, written one record at a time. One partition, so every write is
 * ordered after the previous one for all keys; the producer is idempotent with acks=all, so a write that
 * returned is on every in-sync replica and a retried send is not duplicated.
 */
import type { Producer } from 'kafkajs';
import type { Logger } from '../observe/log.ts';
import { checkConnection, createKafka, type KafkaConnection } from './connection.ts';
import { kafkaCall } from './errors.ts';
import { readTopicsToEnd } from './read-to-end.ts';

export interface KeyedLog {
  readonly topic: string;
  /** Every key's last value (null: deleted), read to the end of the topic. */
  readAll(): Promise<Map<string, Buffer | null>>;
  /** Writes one record (null: a tombstone); resolves once the brokers acknowledged it. */
  put(key: string, value: Buffer | null): Promise<void>;
  close(): Promise<void>;
}

export interface KeyedLogOptions extends KafkaConnection {
  readonly topic: string;
  readonly clientId: string;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly log: Logger;
}

export async function openKeyedLog(opts: KeyedLogOptions): Promise<KeyedLog> {
  const kafka = createKafka(opts, opts.clientId, 'producer');
  const admin = kafka.admin();
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const close = async () => {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  };
  try {
    await checkConnection(opts);
    await kafkaCall(`connecting to ${opts.brokers.join(',')}`, () => admin.connect());
    const existing = await kafkaCall('listing topics', () => admin.listTopics());
    if (!existing.includes(opts.topic)) {
      const { brokers } = await kafkaCall('describing the cluster', () => admin.describeCluster());
      const replicationFactor = Math.max(1, Math.min(opts.replicationFactor, brokers.length));
      const minInsync = Math.max(1, Math.min(opts.minInsyncReplicas, replicationFactor));
      await kafkaCall(`creating topic ${opts.topic}`, () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: opts.topic, numPartitions: 1, replicationFactor, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.insync.replicas', value: String(minInsync) }] }],
        }),
      );
    }
    await kafkaCall(`connecting the producer to ${opts.brokers.join(',')}`, () => producer.connect());
  } catch (err) {
    await close();
    throw err;
  }
  const reader = { clientId: opts.clientId, log: opts.log };
  return {
    topic: opts.topic,
    async readAll() {
      const out = new Map<string, Buffer | null>();
      await kafkaCall(`reading ${opts.topic}`, () => readTopicsToEnd(kafka, admin, [opts.topic], (r) => out.set(r.key?.toString('utf8') ?? '', r.value), reader));
      return out;
    },
    async put(key, value) {
      await kafkaCall(`writing to ${opts.topic}`, () => producer.send({ topic: opts.topic, acks: -1, messages: [{ key: Buffer.from(key, 'utf8'), value }] }));
    },
    close,
  };
}
