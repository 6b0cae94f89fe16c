import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { DatabaseError } from '../../src/sink/destinations/errors.ts';
import type { InBatch, PutResult, Watermarks } from '../../src/sink/kafka.ts';
import type { ApplyResult, Destination, OffsetAdvance, TableChanges } from '../../src/sink/model.ts';
import type { SinkSchemas, WriterSchema } from '../../src/sink/schemas.ts';
import { SinkError } from '../../src/sink/errors.ts';
import { DestinationTask } from '../../src/sink/task.ts';

/** The sink task against an in-memory destination and registry: where partitions start, the compare-and-set, retries. */
const keySchema = { type: 'record', name: 'Key', fields: [{ name: 'id', type: 'long' }] };
const valueSchema = {
  type: 'record',
  name: 'Value',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'title', type: ['null', 'string'], default: null },
    { name: '__op', type: { type: 'enum', name: 'Op', symbols: ['r', 'c', 'u', 'd'] } },
    { name: '__deleted', type: 'boolean' },
    { name: '__source_ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: '__synced_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const writers = new Map<number, WriterSchema>([
  [1, { id: 1, schema: keySchema, type: avro.Type.forSchema(keySchema as avro.Schema) }],
  [2, { id: 2, schema: valueSchema, type: avro.Type.forSchema(valueSchema as avro.Schema) }],
]);
const wire = (id: number, value: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), writers.get(id)!.type.toBuffer(value)]);
const record = (offset: number, id: number, title = `t${offset}`) => ({
  offset: BigInt(offset),
  key: wire(1, { id }),
  value: wire(2, { id, title, __op: 'u', __deleted: false, __source_ts_ms: 1000 + offset, __synced_ms: 1000 }),
});
const batch = (partition: number, ...records: InBatch['records'][number][]): InBatch => ({ topic: 'p.deal', partition, records });

class MemoryDestination implements Destination {
  readonly kind = 'postgres' as const;
  readonly where = 'memory';
  readonly offsets = new Map<string, bigint>();
  readonly applied: Array<{ offset: OffsetAdvance; rows: number }> = [];
  /** The partitions of each applyAll call (each one database transaction). */
  readonly transactions: string[][] = [];
  /** How long each applyAll takes (so batches queue behind it). */
  delayMs = 0;
  failNext = 0;
  async readOffsets() {
    return new Map(this.offsets);
  }
  async ensureTable() {}
  async apply(changes: readonly TableChanges[], offset: OffsetAdvance): Promise<ApplyResult> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new DatabaseError(true, 'PostgreSQL memory: connect ECONNREFUSED');
    }
    const k = `${offset.topic}:${offset.partition}`;
    const stored = this.offsets.get(k) ?? null;
    if (stored !== offset.expected) return { applied: false, stored };
    this.offsets.set(k, offset.next);
    this.applied.push({ offset, rows: changes.reduce((n, c) => n + (c.kind === 'latest' ? c.upserts.length : 0), 0) });
    return { applied: true };
  }
  async applyAll(items: ReadonlyArray<{ changes: readonly TableChanges[]; offset: OffsetAdvance }>): Promise<ApplyResult[]> {
    this.transactions.push(items.map((i) => `${i.offset.topic}:${i.offset.partition}`));
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const out: ApplyResult[] = [];
    for (const i of items) out.push(await this.apply(i.changes, i.offset));
    return out;
  }
  async countRows() {
    return new Map<string, number>();
  }
  async close() {}
}

function setup(marks: Watermarks[] = [0, 1, 2].map((partition) => ({ topic: 'p.deal', partition, low: 0n, high: 100n }))) {
  const destination = new MemoryDestination();
  const schemas = {
    writerOf: async (b: Buffer) => writers.get(b.readInt32BE(1))!,
    latest: async () => writers.get(2)!,
  } as unknown as SinkSchemas;
  const logged: Array<[string, Record<string, unknown>]> = [];
  const log: Logger = (event, fields = {}) => void logged.push([event, fields]);
  const metrics = createMetrics('sink');
  const stop = new AbortController();
  const task = new DestinationTask({ destination, schemas, kafka: { watermarks: async () => marks }, prefix: 'p.', metrics, log, stopped: stop.signal });
  return { task, destination, logged, metrics, stop };
}
const parts = [0, 1].map((partition) => ({ topic: 'p.deal', partition }));
const parts3 = [0, 1, 2].map((partition) => ({ topic: 'p.deal', partition }));
const never = new AbortController().signal;
/** What became of a put: a queued batch's end once its transaction is over. */
async function end(put: Promise<PutResult>): Promise<PutResult> {
  const r = await put;
  return r.kind === 'queued' ? r.applied : r;
}

describe('the sink task', () => {
  it('opens partitions at the stored next offset, or at the log start when there is none', async () => {
    const { task, destination } = setup([
      { topic: 'p.deal', partition: 0, low: 0n, high: 100n },
      { topic: 'p.deal', partition: 1, low: 7n, high: 100n },
    ]);
    destination.offsets.set('p.deal:0', 42n);
    expect(await task.open(parts, never)).toEqual(new Map([['p.deal:0', 42n], ['p.deal:1', 7n]]));
  });

  it('a stored offset below the log start or beyond the log end stops the sink, saying what to do', async () => {
    const a = setup([{ topic: 'p.deal', partition: 0, low: 50n, high: 100n }]);
    a.destination.offsets.set('p.deal:0', 10n);
    await expect(a.task.open([parts[0]!], never)).rejects.toThrow(/stopped at offset 10, but Kafka now starts the partition at 50.*delete the row/);
    const b = setup([{ topic: 'p.deal', partition: 0, low: 0n, high: 100n }]);
    b.destination.offsets.set('p.deal:0', 500n);
    await expect(b.task.open([parts[0]!], never)).rejects.toBeInstanceOf(SinkError);
  });

  it('moves the offset from the stored one (compare-and-set) and skips records below it', async () => {
    const { task, destination, logged } = setup();
    destination.offsets.set('p.deal:0', 2n);
    await task.open(parts, never);
    expect(await end(task.put(batch(0, record(1, 1), record(2, 2), record(3, 1)), never))).toEqual({ kind: 'done' });
    expect(destination.applied).toEqual([{ offset: { topic: 'p.deal', partition: 0, expected: 2n, next: 4n }, rows: 2 }]);
    expect(logged.find(([e]) => e === 'batch-applied')?.[1]).toMatchObject({ firstOffset: '2', lastOffset: '3', records: 2 });
    expect(await end(task.put(batch(1, record(0, 5)), never))).toEqual({ kind: 'done' });
    expect(destination.applied[1]!.offset).toEqual({ topic: 'p.deal', partition: 1, expected: null, next: 1n });
  });

  it('when another sink moved the offset first: nothing applied, continue from the stored offset', async () => {
    const { task, destination, metrics, logged } = setup();
    await task.open(parts, never);
    destination.offsets.set('p.deal:0', 20n); // another instance applied 0..19 meanwhile
    expect(await end(task.put(batch(0, record(0, 1), record(1, 2)), never))).toEqual({ kind: 'rewind', offset: 20n });
    expect(destination.applied).toEqual([]);
    expect((await metrics.sinkOffsetConflicts.get()).values[0]!.value).toBe(1);
    expect(logged.some(([e, f]) => e === 'offset-conflict' && f.stored === '20')).toBe(true);
    expect(await end(task.put(batch(0, record(20, 1)), never))).toEqual({ kind: 'done' });
    expect(destination.applied[0]!.offset).toMatchObject({ expected: 20n, next: 21n });
  });

  it('a lost database is waited out (logged, counted) and the batch applied once it is back', async () => {
    const { task, destination, logged, metrics } = setup();
    await task.open(parts, never);
    destination.failNext = 2;
    expect(await end(task.put(batch(0, record(0, 1)), never))).toEqual({ kind: 'done' });
    expect(destination.applied).toHaveLength(1);
    expect(logged.filter(([e]) => e === 'retrying').map(([, f]) => f.dependency)).toEqual(['database', 'database']);
    expect(logged.some(([e, f]) => e === 'recovered' && f.attempts === 3)).toBe(true);
    expect((await metrics.retries.get()).values.find((v) => v.labels.dependency === 'database')?.value).toBe(2);
  });

  it('a batch held by retries is given up when its partition is revoked (or the sink stops)', async () => {
    const { task, destination } = setup();
    await task.open(parts, never);
    destination.failNext = 1_000;
    const revoked = new AbortController();
    const put = end(task.put(batch(0, record(0, 1)), revoked.signal));
    setTimeout(() => revoked.abort(), 50);
    expect(await put).toEqual({ kind: 'abandoned' });
    expect(destination.applied).toEqual([]);
  });

  it('batches of several partitions queued together are applied in one transaction, each with its own compare-and-set', async () => {
    const { task, destination, logged } = setup();
    await task.open(parts3, never);
    expect(await end(task.put(batch(0, record(0, 1)), never))).toEqual({ kind: 'done' }); // (the schemas are known from here on)
    destination.delayMs = 30;
    destination.offsets.set('p.deal:2', 5n); // another sink applied p.deal/2 up to 4 meanwhile
    const first = end(task.put(batch(0, record(1, 1)), never));
    await new Promise((r) => setTimeout(r, 10));
    const results = await Promise.all([first, end(task.put(batch(1, record(0, 2), record(1, 3)), never)), end(task.put(batch(2, record(0, 4)), never))]);
    // The first batch found the applier free; the two that came while it worked share the next transaction.
    expect(destination.transactions).toEqual([['p.deal:0'], ['p.deal:0'], ['p.deal:1', 'p.deal:2']]);
    expect(results).toEqual([{ kind: 'done' }, { kind: 'done' }, { kind: 'rewind', offset: 5n }]);
    expect(destination.applied.map((a) => a.offset)).toEqual([
      { topic: 'p.deal', partition: 0, expected: null, next: 1n },
      { topic: 'p.deal', partition: 0, expected: 1n, next: 2n },
      { topic: 'p.deal', partition: 1, expected: null, next: 2n },
    ]);
    const tx = logged.filter(([e]) => e === 'batch-applied').map(([, f]) => [f.partition, f.transaction]);
    expect(tx).toEqual([
      [0, 1],
      [0, 2],
      [1, 3],
    ]);
  });

  it('a batch waiting for its turn is given up when its partition is revoked; the others apply', async () => {
    const { task, destination } = setup();
    await task.open(parts3, never);
    expect(await end(task.put(batch(0, record(0, 1)), never))).toEqual({ kind: 'done' });
    destination.delayMs = 50;
    const revoked = new AbortController();
    const first = end(task.put(batch(0, record(1, 1)), never));
    await new Promise((r) => setTimeout(r, 10));
    const waiting = end(task.put(batch(1, record(0, 2)), revoked.signal));
    const other = end(task.put(batch(2, record(0, 3)), never));
    setTimeout(() => revoked.abort(), 10); // while the first batch's transaction still runs
    expect(await waiting).toEqual({ kind: 'abandoned' });
    expect(await first).toEqual({ kind: 'done' });
    expect(await other).toEqual({ kind: 'done' });
    expect(destination.transactions).toEqual([['p.deal:0'], ['p.deal:0'], ['p.deal:2']]);
    expect(destination.offsets.has('p.deal:1')).toBe(false);
  });

  it('returns a batch queued before it is committed; the next batch of the partition is decoded meanwhile and applied after it', async () => {
    const { task, destination, logged } = setup();
    await task.open(parts, never);
    expect(await end(task.put(batch(0, record(0, 1)), never))).toEqual({ kind: 'done' });
    destination.delayMs = 30;
    const first = await task.put(batch(0, record(1, 1), record(2, 2)), never);
    expect(first.kind).toBe('queued');
    expect(logged.filter(([e]) => e === 'batch-applied')).toHaveLength(1); // not committed yet
    const second = end(task.put(batch(0, record(3, 3)), never));
    expect(first.kind === 'queued' && (await first.applied)).toEqual({ kind: 'done' });
    expect(await second).toEqual({ kind: 'done' });
    expect(destination.applied.map((a) => a.offset)).toEqual([
      { topic: 'p.deal', partition: 0, expected: null, next: 1n },
      { topic: 'p.deal', partition: 0, expected: 1n, next: 3n },
      { topic: 'p.deal', partition: 0, expected: 3n, next: 4n },
    ]);
    expect(destination.transactions).toEqual([['p.deal:0'], ['p.deal:0'], ['p.deal:0']]);
  });

  it('queues the next batch of a partition while the previous one is in its transaction, before that commits; it applies in the next transaction', async () => {
    const { task, destination, logged } = setup();
    await task.open(parts, never);
    destination.delayMs = 50;
    const first = await task.put(batch(0, record(0, 1)), never);
    const second = await task.put(batch(0, record(1, 2), record(2, 3)), never);
    expect([first.kind, second.kind]).toEqual(['queued', 'queued']);
    expect(logged.filter(([e]) => e === 'batch-applied')).toHaveLength(0); // the first is not committed yet
    expect(destination.transactions).toEqual([['p.deal:0']]); // and is in its transaction
    expect(first.kind === 'queued' && (await first.applied)).toEqual({ kind: 'done' });
    expect(second.kind === 'queued' && (await second.applied)).toEqual({ kind: 'done' });
    expect(destination.transactions).toEqual([['p.deal:0'], ['p.deal:0']]);
    expect(destination.applied.map((a) => a.offset)).toEqual([
      { topic: 'p.deal', partition: 0, expected: null, next: 1n },
      { topic: 'p.deal', partition: 0, expected: 1n, next: 3n },
    ]);
  });

  it('when a queued batch is refused, it says where to continue and the batch put after it is dropped', async () => {
    const { task, destination } = setup();
    await task.open(parts, never);
    expect(await end(task.put(batch(0, record(0, 1)), never))).toEqual({ kind: 'done' });
    destination.delayMs = 30;
    destination.offsets.set('p.deal:0', 20n); // another sink applied 1..19 meanwhile
    const first = await task.put(batch(0, record(1, 1)), never);
    const second = end(task.put(batch(0, record(2, 2)), never));
    expect(first.kind === 'queued' && (await first.applied)).toEqual({ kind: 'rewind', offset: 20n });
    expect(await second).toEqual({ kind: 'abandoned' });
    expect(destination.applied).toHaveLength(1);
    expect(await end(task.put(batch(0, record(20, 3)), never))).toEqual({ kind: 'done' });
    expect(destination.applied[1]!.offset).toMatchObject({ expected: 20n, next: 21n });
  });

  it('a record it cannot decode stops the sink, naming the record', async () => {
    const { task } = setup();
    await task.open(parts, never);
    const broken = { offset: 0n, key: wire(1, { id: 1 }), value: Buffer.from([0, 0, 0, 0, 2, 0xff]) };
    await expect(end(task.put(batch(0, broken), never))).rejects.toThrow(/p\.deal\/0@0 cannot be decoded with its writer schema 2/);
  });
});
