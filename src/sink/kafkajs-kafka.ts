import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { checkConnection, createKafka, type KafkaConnection } from '../kafka/connection.ts';
import { asKafkaError, kafkaCall } from '../kafka/errors.ts';
import type { Logger } from '../observe/log.ts';
import { Aborted, describeError, withRetries, type Dependency } from '../retry.ts';
import type { SinkKafka, SinkTask, TopicPartition, Watermarks } from './kafka.ts';
import { offsetKey } from './model.ts';
import { SINK_HEADERS } from './resync.ts';

export interface SinkKafkaOptions extends KafkaConnection {
  readonly clientId: string;
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** Topics whose names pass this test are consumed. */
  readonly topicFilter: (topic: string) => boolean;
  readonly log: Logger;
  /** Counts each retry (the `pipedrive_cdc_retries_total` metric). */
  readonly onRetry: (dependency: Dependency) => void;
}

export async function connectSinkKafka(opts: SinkKafkaOptions): Promise<SinkKafka> {
  await checkConnection(opts);
  const kafka = createKafka(opts, opts.clientId, 'sink');
  const admin = kafka.admin();
  await kafkaCall('connecting the admin client', () => admin.connect()).catch(async (err: unknown) => {
    await admin.disconnect().catch(() => undefined);
    throw err;
  });
  let consumption: Consumption | undefined;

  return {
    listTopics: async () => (await kafkaCall('listing topics', () => admin.listTopics())).filter(opts.topicFilter).sort(),

    async run(topics, task, onPosition, onFatal) {
      consumption = new Consumption(kafka, opts, topics, task, onPosition, onFatal);
      await consumption.start();
    },

    async watermarks(topics) {
      const out: Watermarks[] = [];
      for (const topic of topics) {
        for (const p of await kafkaCall(`reading the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) {
          out.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) });
        }
      }
      return out;
    },

    async stopConsuming() {
      await consumption?.stop();
      consumption = undefined;
    },

    async close() {
      await consumption?.stop();
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Fetch sizes: up to 2 MiB a partition and 16 MiB a fetch (kafkajs' defaults are 1 and 10 MiB), so a fetch
 * brings about 10,000 records of a partition, and the database's transactions are large; the response's size
 * bounds what the sink holds decoded at once.
 */
export const FETCH = { maxBytesPerPartition: 2 * 1024 * 1024, maxBytes: 16 * 1024 * 1024, maxWaitTimeInMs: 500 } as const;
/**
 * Batches of one fetch handed to the task at once (one per partition; kafkajs never runs two of a partition
 * together): the task applies those of different partitions in shared transactions while it decodes the next.
 */
export const PARTITIONS_CONSUMED_CONCURRENTLY = 32;

/** Group errors meaning this member no longer owns its partitions: a batch held for retries is given up. */
const MEMBERSHIP_LOST = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * One subscription's consumer and its lifecycle. Positions come from the task, never from the group offset:
 * kafkajs emits GROUP_JOIN synchronously inside its join, before the first fetch of the new generation, so
 * the assigned partitions are paused right there (kafkajs neither requests nor delivers paused partitions);
 * the task reads the destination's offsets, each partition is seeked there and resumed. With autoCommit
 * off, kafkajs' seek only replaces the offset its next fetch uses (whatever it resolved from the group
 * before); it takes pending seeks at the start of each fetch and drops fetched data of a partition with a
 * seek pending, and eachBatch's isStale() is true for a batch fetched before one. On top of that, every
 * batch must have been fetched at the position this class set or followed (`position`, from kafkajs'
 * Batch.fetchedOffset); one fetched elsewhere (e.g. after kafkajs reset a position by itself) is dropped and
 * its partition opened again from the destination.
 */
export class Consumption {
  private consumer: Consumer | undefined;
  private generation = 0;
  private assigned: TopicPartition[] = [];
  /** Offset the next batch of each opened partition must have been fetched at. */
  private readonly position = new Map<string, bigint>();
  private opening = new AbortController();
  private readonly stopping = new AbortController();
  private failed = false;
  /** kafkajs is restarting its crashed consumer: the next join is the recovery. */
  private restarting = false;

  constructor(
    private readonly kafka: Pick<Kafka, 'consumer'>,
    private readonly opts: Pick<SinkKafkaOptions, 'groupId' | 'sessionTimeoutMs' | 'log' | 'onRetry'>,
    private readonly topics: readonly string[],
    private readonly task: SinkTask,
    private readonly onPosition: (topic: string, partition: number, next: bigint) => void,
    private readonly onFatal: (error: Error) => void,
  ) {}

  start(): Promise<void> {
    return withRetries(() => this.startConsumer(), { dependency: 'kafka', what: 'starting the consumer', log: this.opts.log, onRetry: this.opts.onRetry, signal: this.stopping.signal });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.opening.abort();
    const c = this.consumer;
    this.consumer = undefined;
    await c?.disconnect().catch(() => undefined);
  }

  /** Connects, subscribes and runs a new consumer; resolves once it joined the group. */
  private async startConsumer(): Promise<void> {
    if (this.stopping.signal.aborted) throw new Aborted();
    const { groupId, sessionTimeoutMs } = this.opts;
    const c = this.kafka.consumer({ groupId, readUncommitted: false, ...FETCH, sessionTimeout: sessionTimeoutMs, heartbeatInterval: this.heartbeatMs() });
    this.consumer = c;
    // Until the first join, a crash fails this start (and its caller retries); after it, onCrash handles it.
    let joined = false;
    let resolveJoin: () => void = () => undefined;
    let rejectJoin: (e: Error) => void = () => undefined;
    const firstJoin = new Promise<void>((resolve, reject) => ((resolveJoin = resolve), (rejectJoin = reject)));
    c.on(c.events.GROUP_JOIN, (e) => {
      joined = true;
      resolveJoin();
      this.onJoin(c, e.payload.memberAssignment);
    });
    c.on(c.events.END_BATCH_PROCESS, (e) => this.onBatchEnd(c, e.payload));
    c.on(c.events.CRASH, (e) => {
      if (!joined) rejectJoin(e.payload.error);
      else this.onCrash(c, e.payload.error, e.payload.restart);
    });
    try {
      await c.connect();
      await c.subscribe({ topics: [...this.topics], fromBeginning: true });
      await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY, eachBatch: (payload) => this.eachBatch(c, payload) });
      await firstJoin; // run() returns after the first join, or after a crash it reported instead
      if (this.stopping.signal.aborted) throw new Aborted(); // stopped meanwhile: this consumer must not outlive stop()
    } catch (err) {
      if (this.consumer === c) this.consumer = undefined;
      await c.disconnect().catch(() => undefined);
      throw err instanceof Aborted ? err : asKafkaError(err, 'starting the consumer');
    }
  }

  private heartbeatMs(): number {
    return Math.min(3_000, this.opts.sessionTimeoutMs / 3);
  }

  private onJoin(c: Consumer, assignment: Record<string, number[]>): void {
    if (c !== this.consumer || this.failed) return;
    const parts = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    const revoked = this.assigned.filter((a) => !parts.some((p) => p.topic === a.topic && p.partition === a.partition));
    if (revoked.length > 0) this.task.close(revoked);
    this.assigned = parts;
    this.generation++;
    this.opening.abort();
    this.opening = new AbortController();
    this.position.clear();
    if (this.restarting) {
      this.restarting = false;
      this.opts.log('recovered', { dependency: 'kafka', what: 'consuming' });
    }
    this.open(c, parts);
  }

  /** Holds the partitions (synchronously, before anything is fetched for them), then seeks them to where the task says and resumes. */
  private open(c: Consumer, parts: readonly TopicPartition[]): void {
    if (parts.length === 0) return;
    const byTopic = [...new Set(parts.map((p) => p.topic))].map((topic) => ({ topic, partitions: parts.filter((p) => p.topic === topic).map((p) => p.partition) }));
    c.pause(byTopic);
    for (const p of parts) this.position.delete(offsetKey(p.topic, p.partition));
    const generation = this.generation;
    this.task.open(parts, this.opening.signal).then(
      (starts) => {
        if (generation !== this.generation || c !== this.consumer || this.failed) return;
        try {
          for (const p of parts) {
            const k = offsetKey(p.topic, p.partition);
            const at = starts.get(k);
            if (at === undefined) continue;
            c.seek({ topic: p.topic, partition: p.partition, offset: at.toString() });
            this.position.set(k, at);
            this.onPosition(p.topic, p.partition, at); // everything below is applied (a caught-up partition fetches nothing)
          }
          c.resume(byTopic);
        } catch {
          // kafkajs is restarting this consumer (its group is gone until it joins again): that join opens them anew.
        }
      },
      (err: unknown) => {
        if (generation === this.generation && !(err instanceof Aborted)) this.fail(err);
      },
    );
  }

  private async eachBatch(c: Consumer, { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (c !== this.consumer || this.failed || !isRunning() || isStale() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const k = offsetKey(topic, partition);
    const at = this.position.get(k);
    if (at === undefined) return; // not opened in this generation (kafkajs holds paused partitions back; this is the guard)
    // kafkajs' Batch records the offset it fetched at (not in its type declarations).
    const fetchedAt = BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    if (fetchedAt !== at) {
      this.opts.log('stale-batch-dropped', { topic, partition, fetchedAt: String(fetchedAt), expected: String(at) });
      this.open(c, [{ topic, partition }]);
      return;
    }
    const generation = this.generation;
    let result;
    try {
      const records = batch.messages.map((m) => ({ offset: BigInt(m.offset), key: m.key, value: m.value, headers: sinkHeaders(m.headers) }));
      result = await this.keepingMembership(heartbeat, (revoked) => this.task.put({ topic, partition, records }, revoked));
    } catch (err) {
      this.fail(err);
      return;
    }
    if (c !== this.consumer || generation !== this.generation) return;
    if (result.kind === 'rewind') return this.rewind(c, topic, partition, result.offset);
    if (result.kind === 'abandoned') return;
    // Resolving the last record makes kafkajs step over the transaction marker after it, too.
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    const after = BigInt(batch.lastOffset()) + 1n;
    this.position.set(k, after);
    if (result.kind === 'done') return this.consumed(c, topic, partition, after);
    // Queued: kafkajs fetches on while the database applies it; it is consumed once committed.
    result.applied.then(
      (end) => {
        if (c !== this.consumer || generation !== this.generation) return;
        if (end.kind === 'done') void this.consumed(c, topic, partition, after);
        else if (end.kind === 'rewind') this.rewind(c, topic, partition, end.offset);
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** The destination holds another position for the partition: the consumer continues there. */
  private rewind(c: Consumer, topic: string, partition: number, offset: bigint): void {
    try {
      c.seek({ topic, partition, offset: offset.toString() });
    } catch {
      return; // kafkajs is restarting this consumer: its next join opens the partition from the destination
    }
    this.position.set(offsetKey(topic, partition), offset);
  }

  /** A batch committed in the destination: everything below `after` is applied. */
  private async consumed(c: Consumer, topic: string, partition: number, after: bigint): Promise<void> {
    this.onPosition(topic, partition, after);
    // The group offset is a hint for tools (lag dashboards); positions come from the destination.
    await c.commitOffsets([{ topic, partition, offset: after.toString() }]).catch(() => undefined);
  }

  /** Batches of only transaction markers (or aborted records) never reach eachBatch: kafkajs steps over them by itself; follow it. */
  private onBatchEnd(c: Consumer, e: { topic: string; partition: number; batchSize: number; lastOffset: string }): void {
    if (c !== this.consumer || e.batchSize !== 0) return;
    const k = offsetKey(e.topic, e.partition);
    if (!this.position.has(k)) return;
    const after = BigInt(e.lastOffset) + 1n;
    if (after > this.position.get(k)!) {
      this.position.set(k, after);
      this.onPosition(e.topic, e.partition, after);
    }
  }

  /**
   * Runs `fn` while heartbeating, so a batch held by database or registry retries keeps the partitions;
   * when the group says this member lost them, `fn`'s signal fires and it gives the batch up.
   */
  private async keepingMembership<T>(heartbeat: () => Promise<void>, fn: (revoked: AbortSignal) => Promise<T>): Promise<T> {
    const revoked = new AbortController();
    let beating = false;
    const timer = setInterval(() => {
      if (beating) return;
      beating = true;
      heartbeat()
        .catch((err: { type?: string }) => {
          if (err.type && MEMBERSHIP_LOST.has(err.type)) revoked.abort();
        })
        .finally(() => (beating = false));
    }, this.heartbeatMs());
    try {
      return await fn(revoked.signal);
    } finally {
      clearInterval(timer);
    }
  }

  private onCrash(c: Consumer, error: Error, restart: boolean): void {
    if (c !== this.consumer || this.failed || this.stopping.signal.aborted) return;
    if (restart) {
      this.restarting = true;
      this.opts.log('retrying', { dependency: 'kafka', what: 'consuming (kafkajs restarts its consumer)', error: describeError(error) });
      this.opts.onRetry('kafka');
      return;
    }
    const err = asKafkaError(error, 'consuming');
    if (!err.retriable) return this.fail(err);
    void this.rebuild(c, err);
  }

  /** kafkajs gave up on a transient failure (its retries exhausted): a new consumer, every partition re-opened from the destination. */
  private async rebuild(old: Consumer, cause: Error): Promise<void> {
    this.consumer = undefined;
    this.opening.abort();
    this.position.clear();
    await old.disconnect().catch(() => undefined);
    // The crash counts as the first failed attempt: logged, counted and waited out like any other.
    await withRetries(
      async (attempt) => {
        if (attempt === 0) throw cause;
        await this.startConsumer();
      },
      { dependency: 'kafka', what: 'consuming (kafkajs gave up; building a new consumer)', log: this.opts.log, onRetry: this.opts.onRetry, signal: this.stopping.signal },
    ).catch((err: unknown) => {
      if (!(err instanceof Aborted)) this.fail(err);
    });
  }

  private fail(err: unknown): void {
    if (this.failed || this.stopping.signal.aborted) return;
    this.failed = true;
    // Hold every partition: nothing more is fetched while the sink shuts down.
    try {
      this.consumer?.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      /* not running */
    }
    this.onFatal(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The headers the sink reads, as text (undefined when a record has none of them: most records before a re-sync). */
function sinkHeaders(headers: EachBatchPayload['batch']['messages'][number]['headers']): Record<string, string> | undefined {
  if (!headers) return undefined;
  let out: Record<string, string> | undefined;
  for (const name of SINK_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    (out ??= {})[name] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}
