import { createRequire } from 'node:module';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../observe/log.ts';
import { KafkaError, kafkaCall } from './errors.ts';

export interface ReadRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  /** null = tombstone. */
  readonly value: Buffer | null;
  /** A header's value as text (read on demand: decoding every header of millions of records costs). */
  header(name: string): string | undefined;
}

type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined;

function headerOf(raw: RawHeaders, name: string): string | undefined {
  const v = raw?.[name];
  if (v === undefined) return undefined;
  return String(Array.isArray(v) ? v[0] : v);
}

const READ_TIMEOUT_MS = 120_000;
const READ_COMMITTED = 1;
// Each fetch is decoded into message objects at once: large enough to amortise the round trip, small enough to
// keep a restart's memory flat (a million keys: 2 MB a partition read in 21 s with 253 MiB peak RSS, 16 MB in 26 s
// with 328 MiB).
const FETCH_PARTITION_BYTES = 2 * 1024 * 1024;
const FETCH_BYTES = 8 * 1024 * 1024;

/*
 * kafkajs consumes only as a member of a consumer group; reading a log to its end needs no group (Kafka
 * Connect's KafkaBasedLog assigns partitions and polls until its position reaches the end offsets). So
 * this reader speaks Fetch itself, through kafkajs' cluster and broker objects — not in kafkajs' public
 * types, but kafkajs has had no release since 2023 (2.2.4), so they do not move — and lets kafkajs' own
 * Batch drop aborted records and transaction markers. No group means no join: nothing waits for the
 * broker's group.initial.rebalance.delay.ms (3 s by default, on every start), no member lingers.
 */
interface KafkajsMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: RawHeaders;
}
interface KafkajsPartitionData {
  readonly partition: number;
  readonly lastStableOffset: string;
  readonly highWatermark: string;
}
interface KafkajsBatch {
  readonly messages: readonly KafkajsMessage[];
  readonly messagesWithinOffset: readonly KafkajsMessage[];
}
interface KafkajsBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: KafkajsPartitionData[] }> }>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<KafkajsBroker>;
}

const require = createRequire(import.meta.url);
const Batch = require('kafkajs/src/consumer/batch') as new (topic: string, fetchedOffset: string, data: KafkajsPartitionData) => KafkajsBatch;

function clusterOf(kafka: Kafka): KafkajsCluster {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!create) throw new Error('kafkajs internals changed: no cluster factory on the Kafka client (this reader needs kafkajs 2.2.x)');
  return (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[create]!({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
}

/**
 * Reads topics from their log start (or the positions in `from`, "topic:partition" → offset) up to the end
 * offsets taken when the read starts, read_committed,
 * without a consumer group (see above). Transaction markers and aborted records occupy offsets without
 * being delivered. A read that makes no progress for the timeout fails, naming where it stopped; a
 * fetch error (a leader moved, a broker restarting) refreshes the metadata and fetches again.
 */
export async function readTopicsToEnd(
  kafka: Kafka,
  admin: Admin,
  topics: readonly string[],
  onRecord: (record: ReadRecord) => void,
  opts: { clientId: string; log: Logger; timeoutMs?: number; from?: ReadonlyMap<string, bigint> },
): Promise<{ records: number }> {
  const existing = new Set(await kafkaCall('listing topics', () => admin.listTopics()));
  const position = new Map<string, bigint>(); // "topic:partition" → next offset to fetch
  const end = new Map<string, bigint>(); // "topic:partition" → first offset not to read
  for (const topic of topics.filter((t) => existing.has(t))) {
    for (const p of await kafkaCall(`reading the end offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) {
      // A caller that already holds a prefix of the partition (a key index snapshot) reads on from there.
      const tp = `${topic}:${p.partition}`;
      const start = opts.from?.get(tp) ?? BigInt(p.low);
      if (start < BigInt(p.low)) throw new KafkaError('transient', `Kafka: ${tp} now starts at ${p.low}, after the position ${start} a key index snapshot holds (the session starts again, with a full read)`);
      if (BigInt(p.high) > start) {
        position.set(tp, start);
        end.set(tp, BigInt(p.high));
      }
    }
  }
  if (end.size === 0) return { records: 0 };
  const wanted = [...new Set([...end.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))];
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? READ_TIMEOUT_MS;
  const cluster = clusterOf(kafka);
  let records = 0;
  let progressAt = Date.now();
  let failures = 0;
  try {
    await kafkaCall('connecting a topic reader', async () => {
      await cluster.connect();
      await cluster.addMultipleTargetTopics(wanted);
    });
    while (end.size > 0) {
      if (Date.now() - progressAt > timeoutMs) {
        const where = [...end].map(([tp, e]) => `${tp} at ${position.get(tp)} of ${e}`).join(', ');
        throw new KafkaError('transient', `Kafka: reading ${wanted.join(', ')} to the end made no progress for ${timeoutMs} ms (${where})`);
      }
      let progressed = false;
      try {
        // One fetch per leader, all its pending partitions at once.
        const byLeader = new Map<string, Array<{ topic: string; partition: number }>>();
        for (const topic of wanted) {
          const parts = [...end.keys()].filter((k) => k.slice(0, k.lastIndexOf(':')) === topic).map((k) => Number(k.slice(k.lastIndexOf(':') + 1)));
          if (parts.length === 0) continue;
          for (const [leader, ps] of Object.entries(cluster.findLeaderForPartitions(topic, parts))) {
            const list = byLeader.get(leader) ?? [];
            list.push(...ps.map((partition) => ({ topic, partition })));
            byLeader.set(leader, list);
          }
        }
        await Promise.all(
          [...byLeader].map(async ([nodeId, parts]) => {
            const broker = await cluster.findBroker({ nodeId });
            const topicsOf = [...new Set(parts.map((p) => p.topic))];
            const response = await broker.fetch({
              isolationLevel: READ_COMMITTED,
              maxWaitTime: 100,
              minBytes: 1,
              maxBytes: FETCH_BYTES,
              topics: topicsOf.map((topic) => ({
                topic,
                partitions: parts.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition, fetchOffset: String(position.get(`${topic}:${p.partition}`)), maxBytes: FETCH_PARTITION_BYTES })),
              })),
            });
            for (const { topicName, partitions } of response.responses) {
              for (const data of partitions) {
                const tp = `${topicName}:${data.partition}`;
                const at = position.get(tp);
                const stop = end.get(tp);
                if (at === undefined || stop === undefined) continue;
                const batch = new Batch(topicName, String(at), data);
                for (const m of batch.messages) {
                  if (BigInt(m.offset) >= stop) break;
                  records++;
                  const raw = m.headers;
                  onRecord({ topic: topicName, key: m.key, value: m.value, header: (name) => headerOf(raw, name) });
                }
                const seen = batch.messagesWithinOffset;
                let next = seen.length > 0 ? BigInt(seen[seen.length - 1]!.offset) + 1n : at;
                // Nothing returned although committed data lies beyond: the range was compacted away.
                if (seen.length === 0 && BigInt(data.lastStableOffset) > at) next = BigInt(data.lastStableOffset);
                if (next > at) {
                  position.set(tp, next);
                  progressed = true;
                }
                if (next >= stop) {
                  end.delete(tp);
                  position.delete(tp);
                }
              }
            }
          }),
        );
      } catch (err) {
        // A leader moved or a broker restarts: fresh metadata, then fetch again (until the stall timeout).
        failures++;
        const delayMs = Math.min(5_000, 250 * 2 ** Math.min(failures, 5));
        opts.log('topic-read-retrying', { topics: wanted, attempt: failures, delayMs, error: err instanceof Error ? err.message : String(err) });
        await cluster.refreshMetadata().catch(() => undefined);
        await new Promise((r) => setTimeout(r, delayMs));
        continue;
      }
      failures = 0;
      // An open transaction below the end (its producer not yet fenced or timed out) holds the read back.
      if (progressed) progressAt = Date.now();
      else await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
  opts.log('topics-read', { topics: wanted, records, ms: Date.now() - started });
  return { records };
}
