import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/capture/change.ts';
import { contentHash } from '../../src/capture/emit.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { catalog } from '../../src/catalog/index.ts';
import { historyOf } from '../../src/catalog/types.ts';
import { VERSION_KEY_FIELD, keySchema, valueSchema } from '../../src/publish/avro-schema.ts';
import type { OutRecord, ProducerKafka } from '../../src/publish/kafka.ts';
import { HASH_HEADER, OP_HEADER, Publisher, RESYNC_HEADER, SOURCE_TS_HEADER } from '../../src/publish/publisher.ts';
import type { Registry } from '../../src/registry/client.ts';

/**
 * The records of a batch as the publisher hands them to Kafka, against an oracle written here: avsc's
 * straight encoding of each whole record with the schema registered for its subject.
 */
const deal = catalog.get('deal')!;
const dealHistory = historyOf(deal)!;

async function setup() {
  const subjects = new Map<string, { id: number; schema: object }>();
  const registry = { register: async (subject: string, schema: object) => (subjects.get(subject) ?? subjects.set(subject, { id: subjects.size + 10, schema }).get(subject)!).id } as unknown as Registry;
  const written: OutRecord[][] = [];
  const kafka = { ensureTopics: async () => undefined, writeTransaction: async (records: readonly OutRecord[]) => void written.push([...records]) } as unknown as ProducerKafka;
  const publisher = new Publisher(kafka, registry, { topicPrefix: 'p', connector: 'c', partitions: 3, replicationFactor: 1, minInsyncReplicas: 1, now: () => 1_788_000_999_000 });
  await publisher.prepare([deal, dealHistory]);
  const framed = (subject: string, record: object) => {
    const { id, schema } = subjects.get(subject)!;
    const head = Buffer.alloc(5);
    head.writeInt32BE(id, 1);
    return Buffer.concat([head, avro.Type.forSchema(schema as avro.Schema).toBuffer(record)]);
  };
  return { publisher, written, framed };
}

function row(id: number, title: string): Record<string, string | number | boolean | null> {
  const r = Object.fromEntries(deal.columns.map((c) => [c.name, null])) as Record<string, string | number | boolean | null>;
  return { ...r, id, title, update_time: 1_788_000_000_000 + id, is_deleted: false, status: 'open' };
}

describe('Publisher records', () => {
  it('a version and its history copy: values, keys, partition key and headers as the straight encoding', async () => {
    const { publisher, written, framed } = await setup();
    const events: ChangeEvent[] = [];
    for (const id of [1, 2]) {
      const r = row(id, `deal ${id}`);
      const ev: ChangeEvent = { table: 'deal', key: { id }, row: r, op: 'r', sourceTsMs: 1_788_000_000_000 + id, hash: contentHash(r) };
      events.push(ev, { ...ev, table: 'deal_history' });
    }
    // A delete found by absence: the key only, no hash; a tombstone follows on the latest-state topic.
    const gone: ChangeEvent = { table: 'deal', key: { id: 3 }, row: { id: 3 }, op: 'd', sourceTsMs: 1_788_000_000_500 };
    events.push(gone, { ...gone, table: 'deal_history' });
    const { committed } = await publisher.publish({ table: 'deal', events, offset: { ...initialOffset, cursorMs: 5, resync: { generation: 4, startedAt: 1 } } as never });
    await committed;
    const [records] = written as [OutRecord[]];
    expect(records.map((r) => r.topic)).toEqual(['p.deal', 'p.deal_history', 'p.deal', 'p.deal_history', 'p.deal', 'p.deal', 'p.deal_history', 'p._state']);
    for (const [i, ev] of events.entries()) {
      const rec = records[i + (i >= 5 ? 1 : 0)]!;
      const subject = `p.${ev.table}`;
      const meta = { __op: ev.op, __deleted: ev.op === 'd', __source_ts_ms: ev.sourceTsMs, __synced_ms: 1_788_000_999_000 };
      const whole = Object.fromEntries(deal.columns.map((c) => [c.name, ev.row[c.name] ?? null]));
      expect(rec.value!.equals(framed(`${subject}-value`, { ...whole, ...meta }))).toBe(true);
      const history = ev.table === 'deal_history';
      expect(rec.key.equals(framed(`${subject}-key`, history ? { ...ev.key, [VERSION_KEY_FIELD]: ev.sourceTsMs } : ev.key))).toBe(true);
      // History records are partitioned by the entity's key as the latest-state topic writes it.
      if (history) expect(rec.partitionKey!.equals(framed('p.deal-key', ev.key))).toBe(true);
      else expect(rec.partitionKey).toBeUndefined();
      expect(rec.headers).toEqual({ [OP_HEADER]: ev.op, [SOURCE_TS_HEADER]: String(ev.sourceTsMs), ...(ev.hash ? { [HASH_HEADER]: ev.hash } : {}), [RESYNC_HEADER]: '4' });
      expect(Object.keys(rec.headers!)).toEqual([OP_HEADER, SOURCE_TS_HEADER, ...(ev.hash ? [HASH_HEADER] : []), RESYNC_HEADER]);
    }
    expect(records[5]).toMatchObject({ topic: 'p.deal', value: null, headers: { [SOURCE_TS_HEADER]: '1788000000500', [RESYNC_HEADER]: '4' } });
    expect(records[5]!.key.equals(records[4]!.key)).toBe(true);
    // Views of one slab, none overwritten by a later record: decoding each gives its own row back.
    const dealValue = avro.Type.forSchema(valueSchema('p', deal) as avro.Schema);
    expect(records.slice(0, 4).map((r) => (dealValue.fromBuffer(r.value!.subarray(5)) as { title: string }).title)).toEqual(['deal 1', 'deal 1', 'deal 2', 'deal 2']);
    expect(keySchema('p', dealHistory).fields).toHaveLength(2);
  });

  it('batches in flight keep their own bytes while the next batch is encoded', async () => {
    const { publisher, written } = await setup();
    const batch = (id: number) => ({ table: 'deal', events: [{ table: 'deal', key: { id }, row: row(id, `t${id}`), op: 'u' as const, sourceTsMs: id }], offset: initialOffset });
    await publisher.publish(batch(1));
    await publisher.publish(batch(2));
    await publisher.flush();
    const dealValue = avro.Type.forSchema(valueSchema('p', deal) as avro.Schema);
    expect(written.map((w) => (dealValue.fromBuffer(w[0]!.value!.subarray(5)) as { title: string }).title)).toEqual(['t1', 't2']);
  });
});
