import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observe/log.ts';
import type { InBatch, PutResult, SinkTask, TopicPartition } from '../../src/sink/kafka.ts';
import { Consumption } from '../../src/sink/kafkajs-kafka.ts';

/**
 * The consumer lifecycle of the kafkajs adapter against a scripted stand-in for kafkajs' consumer: where
 * partitions start, which batches may reach the task, and what happens when kafkajs crashes.
 */
const EVENTS = { GROUP_JOIN: 'join', END_BATCH_PROCESS: 'end', CRASH: 'crash' } as const;

class FakeConsumer {
  readonly events = EVENTS;
  readonly calls: string[] = [];
  private readonly listeners = new Map<string, Array<(e: { payload: unknown }) => void>>();
  private eachBatch?: (payload: unknown) => Promise<void>;
  readonly resolved: string[] = [];
  disconnected = false;
  constructor(private readonly assignment: Record<string, number[]>) {}
  on(event: string, fn: (e: { payload: unknown }) => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
    return () => undefined;
  }
  emit(event: string, payload: unknown) {
    for (const fn of this.listeners.get(event) ?? []) fn({ payload });
  }
  async connect() {}
  async subscribe() {}
  async run({ eachBatch }: { eachBatch: (payload: unknown) => Promise<void> }) {
    this.eachBatch = eachBatch;
    this.join(this.assignment);
  }
  join(memberAssignment: Record<string, number[]>) {
    this.emit(EVENTS.GROUP_JOIN, { memberAssignment });
  }
  pause(tps: Array<{ topic: string; partitions?: number[] }>) {
    this.calls.push(`pause ${tps.map((t) => `${t.topic}:${t.partitions?.join(',') ?? '*'}`).join(' ')}`);
  }
  resume(tps: Array<{ topic: string; partitions: number[] }>) {
    this.calls.push(`resume ${tps.map((t) => `${t.topic}:${t.partitions.join(',')}`).join(' ')}`);
  }
  /** Seeks not yet taken by a fetch: kafkajs' isStale() is true for batches fetched before them. */
  private readonly pendingSeeks = new Map<string, string>();
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }) {
    this.calls.push(`seek ${topic}:${partition}@${offset}`);
    this.pendingSeeks.set(`${topic}:${partition}`, offset);
  }
  async commitOffsets() {}
  async disconnect() {
    this.disconnected = true;
  }
  /** Hands eachBatch a batch fetched at `fetchedOffset` holding data records at `offsets` (and markers up to `lastOffset`). */
  deliver(topic: string, partition: number, fetchedOffset: number, offsets: number[], lastOffset = offsets.at(-1)!) {
    const tp = `${topic}:${partition}`;
    if (this.pendingSeeks.get(tp) === String(fetchedOffset)) this.pendingSeeks.delete(tp); // fetched after the seek
    const stale = this.pendingSeeks.has(tp);
    return this.eachBatch!({
      batch: { topic, partition, fetchedOffset: String(fetchedOffset), messages: offsets.map((o) => ({ offset: String(o), key: Buffer.from('k'), value: Buffer.from('v') })), lastOffset: () => String(lastOffset) },
      resolveOffset: (o: string) => this.resolved.push(`${topic}:${partition}@${o}`),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => stale,
    });
  }
}

class FakeTask implements SinkTask {
  readonly opened: string[][] = [];
  readonly puts: string[] = [];
  readonly closed: string[] = [];
  next: PutResult | Error = { kind: 'done' };
  constructor(readonly stored: Map<string, bigint>) {}
  async open(partitions: readonly TopicPartition[]) {
    this.opened.push(partitions.map((p) => `${p.topic}:${p.partition}`));
    return new Map(partitions.map((p) => [`${p.topic}:${p.partition}`, this.stored.get(`${p.topic}:${p.partition}`) ?? 0n]));
  }
  async put(batch: InBatch): Promise<PutResult> {
    this.puts.push(`${batch.topic}:${batch.partition}@${batch.records.map((r) => r.offset).join(',')}`);
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
  close(partitions: readonly TopicPartition[]) {
    this.closed.push(...partitions.map((p) => `${p.topic}:${p.partition}`));
  }
}

async function setup(stored: Record<string, bigint> = {}, assignment: Record<string, number[]> = { t: [0, 1] }) {
  const consumers: FakeConsumer[] = [];
  const kafka = { consumer: () => (consumers.push(new FakeConsumer(assignment)), consumers.at(-1)!) } as unknown as Kafka;
  const logged: Array<[string, Record<string, unknown>]> = [];
  const log: Logger = (event, fields = {}) => void logged.push([event, fields]);
  const retries: string[] = [];
  const fatal: Error[] = [];
  const positions: string[] = [];
  const task = new FakeTask(new Map(Object.entries(stored)));
  const c = new Consumption(
    kafka,
    { groupId: 'g', sessionTimeoutMs: 6000, log, onRetry: (d) => void retries.push(d) },
    ['t'],
    task,
    (t, p, o) => void positions.push(`${t}:${p}@${o}`),
    (e) => void fatal.push(e),
  );
  await c.start();
  await settle();
  return { c, consumers, task, logged, retries, fatal, positions };
}
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('the kafkajs consumer lifecycle', () => {
  it('every join pauses the assigned partitions first, then seeks each to where the task opened it, then resumes', async () => {
    const { consumers, task, positions } = await setup({ 't:0': 42n });
    expect(consumers[0]!.calls).toEqual(['pause t:0,1', 'seek t:0@42', 'seek t:1@0', 'resume t:0,1']);
    expect(task.opened).toEqual([['t:0', 't:1']]);
    expect(positions).toEqual(['t:0@42', 't:1@0']);

    // A rebalance: t:1 goes elsewhere; t:0 is opened again from the task (the database), not from memory.
    task.stored.set('t:0', 50n);
    consumers[0]!.join({ t: [0] });
    await settle();
    expect(task.closed).toEqual(['t:1']);
    expect(consumers[0]!.calls.slice(4)).toEqual(['pause t:0', 'seek t:0@50', 'resume t:0']);
  });

  it('batches fetched at the position set reach the task; the position then follows kafkajs past trailing markers', async () => {
    const { consumers, task, positions } = await setup({ 't:0': 10n });
    await consumers[0]!.deliver('t', 0, 10, [10, 11, 12], 13);
    expect(task.puts).toEqual(['t:0@10,11,12']);
    expect(consumers[0]!.resolved).toEqual(['t:0@12']);
    expect(positions.at(-1)).toBe('t:0@14');
    await consumers[0]!.deliver('t', 0, 14, [14]);
    expect(task.puts).toEqual(['t:0@10,11,12', 't:0@14']);
    // A batch of only markers never reaches eachBatch; kafkajs steps over it and so does the position.
    consumers[0]!.emit(EVENTS.END_BATCH_PROCESS, { topic: 't', partition: 0, batchSize: 0, lastOffset: '15' });
    await consumers[0]!.deliver('t', 0, 16, [16]);
    expect(task.puts.at(-1)).toBe('t:0@16');
  });

  it('a batch fetched anywhere else is dropped: before the seek took effect (stale), or at a position kafkajs reset (the partition is opened again)', async () => {
    const { consumers, task, logged } = await setup({ 't:0': 10n });
    await consumers[0]!.deliver('t', 0, 900, [900, 901]); // fetched at the group offset, before the seek
    expect(task.puts).toEqual([]);
    await consumers[0]!.deliver('t', 0, 10, [10]);
    task.stored.set('t:0', 11n);
    await consumers[0]!.deliver('t', 0, 900, [900, 901]); // kafkajs moved the position by itself
    await settle();
    expect(task.puts).toEqual(['t:0@10']);
    expect(consumers[0]!.resolved).toEqual(['t:0@10']);
    expect(logged.some(([e, f]) => e === 'stale-batch-dropped' && f.fetchedAt === '900' && f.expected === '11')).toBe(true);
    expect(task.opened.at(-1)).toEqual(['t:0']);
    expect(consumers[0]!.calls.slice(-3)).toEqual(['pause t:0', 'seek t:0@11', 'resume t:0']);
  });

  it('when the destination holds another offset (another sink applied the range), the consumer continues there', async () => {
    const { consumers, task } = await setup({ 't:0': 10n });
    task.next = { kind: 'rewind', offset: 20n };
    task.stored.set('t:0', 20n);
    await consumers[0]!.deliver('t', 0, 10, [10, 11]);
    expect(consumers[0]!.resolved).toEqual([]);
    expect(consumers[0]!.calls.at(-1)).toBe('seek t:0@20');
    task.next = { kind: 'done' };
    await consumers[0]!.deliver('t', 0, 12, [12]); // fetched before the seek took effect (isStale): dropped
    await consumers[0]!.deliver('t', 0, 20, [20]);
    expect(task.puts).toEqual(['t:0@10,11', 't:0@20']);
  });

  it('a batch queued in the database is resolved at once (kafkajs fetches on) and consumed only once committed; refused, the consumer goes back', async () => {
    const { consumers, task, positions } = await setup({ 't:0': 10n });
    let commit!: (r: { kind: 'done' } | { kind: 'rewind'; offset: bigint }) => void;
    task.next = { kind: 'queued', applied: new Promise((r) => (commit = r)) };
    await consumers[0]!.deliver('t', 0, 10, [10, 11]);
    expect(consumers[0]!.resolved).toEqual(['t:0@11']);
    const t0 = () => positions.filter((p) => p.startsWith('t:0@')).at(-1);
    expect(t0()).toBe('t:0@10'); // not applied yet: lag and caught-up still count it
    commit({ kind: 'done' });
    await settle();
    expect(t0()).toBe('t:0@12');
    let refuse!: (r: { kind: 'rewind'; offset: bigint }) => void;
    task.next = { kind: 'queued', applied: new Promise((r) => (refuse = r)) };
    await consumers[0]!.deliver('t', 0, 12, [12]);
    refuse({ kind: 'rewind', offset: 30n });
    await settle();
    expect(consumers[0]!.calls.at(-1)).toBe('seek t:0@30');
    expect(t0()).toBe('t:0@12');
    task.next = { kind: 'done' };
    await consumers[0]!.deliver('t', 0, 30, [30]);
    expect(task.puts.at(-1)).toBe('t:0@30');
  });

  it('a crash kafkajs restarts from is logged and counted; the next join is the recovery and re-opens every partition', async () => {
    const { consumers, task, logged, retries } = await setup();
    consumers[0]!.emit(EVENTS.CRASH, { error: Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true }), restart: true });
    expect(retries).toEqual(['kafka']);
    expect(logged.some(([e, f]) => e === 'retrying' && f.dependency === 'kafka')).toBe(true);
    consumers[0]!.join({ t: [0, 1] });
    await settle();
    expect(logged.some(([e, f]) => e === 'recovered' && f.dependency === 'kafka')).toBe(true);
    expect(task.opened).toHaveLength(2);
  });

  it('a transient crash kafkajs gives up on: a new consumer is built and every partition re-opened from the task', async () => {
    const { consumers, task, retries, fatal } = await setup({ 't:0': 7n });
    const exhausted = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSNonRetriableError', retriable: false });
    consumers[0]!.emit(EVENTS.CRASH, { error: exhausted, restart: false });
    for (let i = 0; i < 50 && consumers.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(fatal).toEqual([]);
    expect(consumers[0]!.disconnected).toBe(true);
    expect(consumers).toHaveLength(2);
    expect(retries).toEqual(['kafka']);
    expect(task.opened).toHaveLength(2);
    expect(consumers[1]!.calls).toEqual(['pause t:0,1', 'seek t:0@7', 'seek t:1@0', 'resume t:0,1']);
    // Batches of the old consumer are never applied.
    await consumers[0]!.deliver('t', 0, 7, [7]);
    expect(task.puts).toEqual([]);
  });

  it('a crash waiting cannot fix (refused credentials), or a task failure, stops the sink', async () => {
    const a = await setup();
    a.consumers[0]!.emit(EVENTS.CRASH, { error: Object.assign(new Error('SASL PLAIN authentication failed'), { name: 'KafkaJSSASLAuthenticationError' }), restart: false });
    expect(a.fatal.map((e) => e.message)).toEqual([expect.stringMatching(/credentials/)]);

    const b = await setup();
    b.task.next = new Error('sink: t/0@3 cannot be decoded');
    await b.consumers[0]!.deliver('t', 0, 0, [3]);
    expect(b.fatal.map((e) => e.message)).toEqual(['sink: t/0@3 cannot be decoded']);
    expect(b.consumers[0]!.calls.at(-1)).toBe('pause t:*');
  });
});
