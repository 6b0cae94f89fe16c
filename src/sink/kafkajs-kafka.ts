import { kafkaLogCreator } from '../observe/log.ts';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { InBatch, SinkKafka } from './kafka.ts';

export interface SinkKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** Topics whose names pass this test are consumed. */
  readonly topicFilter: (topic: string) => boolean;
}

export async function connectSinkKafka(opts: SinkKafkaOptions): Promise<SinkKafka> {
  const kafka = new Kafka({ clientId: opts.clientId, brokers: [...opts.brokers], logLevel: logLevel.WARN, logCreator: kafkaLogCreator('sink') });
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;

  return {
    async listTopics() {
      return (await admin.listTopics()).filter(opts.topicFilter).sort();
    },

    async run(topics, handle, onPosition, onFatal) {
      consumer = kafka.consumer({
        groupId: opts.groupId,
        readUncommitted: false,
        maxWaitTimeInMs: 500,
        sessionTimeout: opts.sessionTimeoutMs,
        heartbeatInterval: Math.min(3_000, opts.sessionTimeoutMs / 3),
      });
      const c = consumer;
      await c.connect();
      // kafkajs restarts the consumer after retriable errors (the destination's offsets make the replay
      // safe); anything else ends the sink loudly instead of leaving it idle.
      c.on(c.events.CRASH, (e) => {
        if (!e.payload.restart) onFatal(e.payload.error);
      });
      await c.subscribe({ topics: [...topics], fromBeginning: true });
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        onPosition(e.payload.topic, e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const inBatch: InBatch = {
            topic: batch.topic,
            partition: batch.partition,
            records: batch.messages.map((m) => ({ offset: BigInt(m.offset), key: m.key, value: m.value })),
          };
          await handle(inBatch);
          const last = batch.messages[batch.messages.length - 1]!.offset;
          resolveOffset(last);
          await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
          await heartbeat();
        },
      });
    },

    async endOffsets(topics) {
      const out: Array<{ topic: string; partition: number; end: bigint }> = [];
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, end: BigInt(p.high) });
      }
      return out;
    },

    async stopConsuming() {
      await consumer?.disconnect();
      consumer = undefined;
    },

    async close() {
      await consumer?.disconnect();
      await admin.disconnect();
    },
  };
}
