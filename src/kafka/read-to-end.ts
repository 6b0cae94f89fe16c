import { randomBytes } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../observe/log.ts';
import { KafkaError, kafkaCall } from './errors.ts';

export interface ReadRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  /** null = tombstone. */
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

const READ_TIMEOUT_MS = 120_000;

/**
 * Reads topics from the beginning up to the end offsets taken when the read starts, read_committed, the
 * way Kafka Connect's KafkaBasedLog reads its offsets topic. kafkajs cannot consume without a consumer
 * group, so each read uses a group of its own (never shared, never committed to) and deletes it after:
 * no lingering member of an earlier read or process can hold partitions or delay the join. Transaction
 * markers occupy offsets without being delivered, so progress is tracked by batch ends, not by records.
 */
export async function readTopicsToEnd(
  kafka: Kafka,
  admin: Admin,
  topics: readonly string[],
  onRecord: (record: ReadRecord) => void,
  opts: { clientId: string; log: Logger; timeoutMs?: number },
): Promise<{ records: number }> {
  const existing = new Set(await kafkaCall('listing topics', () => admin.listTopics()));
  const pending = new Map<string, bigint>(); // "topic:partition" → last offset to reach
  for (const topic of topics.filter((t) => existing.has(t))) {
    for (const p of await kafkaCall(`reading the end offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) {
      if (BigInt(p.high) > BigInt(p.low)) pending.set(`${topic}:${p.partition}`, BigInt(p.high) - 1n);
    }
  }
  if (pending.size === 0) return { records: 0 };
  const wanted = [...new Set([...pending.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))];
  const groupId = `${opts.clientId}.read-to-end.${randomBytes(6).toString('hex')}`;
  const started = Date.now();
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200, retry: { retries: 5 } });
  let records = 0;
  try {
    await kafkaCall('connecting a topic reader', () => consumer.connect());
    await kafkaCall(`subscribing to ${wanted.join(', ')}`, () => consumer.subscribe({ topics: wanted, fromBeginning: true }));
    await new Promise<void>((resolve, reject) => {
      const reached = new Map<string, string>();
      const timeoutMs = opts.timeoutMs ?? READ_TIMEOUT_MS;
      // Never wait silently: a read that makes no progress for the timeout fails, naming where it stopped
      // (a large topic may take long; only a stall is an error).
      const stalled = () => {
        const where = [...pending].map(([tp, end]) => `${tp} at ${reached.get(tp) ?? 'start'} of ${end}`).join(', ');
        reject(new KafkaError('transient', `Kafka: reading ${wanted.join(', ')} to the end made no progress for ${timeoutMs} ms (${where})`));
      };
      let timer = setTimeout(stalled, timeoutMs);
      const check = (topic: string, partition: number, lastOffset: string) => {
        const tp = `${topic}:${partition}`;
        reached.set(tp, lastOffset);
        clearTimeout(timer);
        timer = setTimeout(stalled, timeoutMs);
        const target = pending.get(tp);
        if (target !== undefined && BigInt(lastOffset) >= target) pending.delete(tp);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => check(e.payload.topic, e.payload.partition, e.payload.lastOffset));
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) {
          clearTimeout(timer);
          reject(e.payload.error);
        }
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              records++;
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
              onRecord({ topic: batch.topic, key: m.key, value: m.value, headers });
            }
          },
        })
        .catch((err) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    // The group held no offsets; deleting it leaves nothing behind (an undeleted one expires by itself).
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  opts.log('topics-read', { topics: wanted, group: groupId, records, ms: Date.now() - started });
  return { records };
}
