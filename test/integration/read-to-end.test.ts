import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicsToEnd, type ReadRecord } from '../../src/kafka/read-to-end.ts';
import { services, uniqueName } from './support/harness.ts';

/**
 * Reading a log to its end without a consumer group, as the producer does at start (state topic, key
 * indexes): committed records only, aborted transactions and markers stepped over, no group left behind.
 */
describe('reading topics to their end without a consumer group', () => {
  const kafka = new Kafka({ clientId: uniqueName('rte'), brokers: services().brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  const read = async (topics: string[], timeoutMs?: number) => {
    const got: Array<{ topic: string; key: string; value: string | null; h: string | undefined }> = [];
    const lines: string[] = [];
    await readTopicsToEnd(kafka, admin, topics, (r: ReadRecord) => got.push({ topic: r.topic, key: r.key!.toString(), value: r.value?.toString() ?? null, h: r.header('h') }), {
      clientId: 'rte',
      log: (event) => lines.push(event),
      timeoutMs,
    });
    return { got, lines };
  };

  it('committed records of every partition, in order; aborted transactions and markers skipped; no group created', async () => {
    const topic = uniqueName('rte');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
    const producer = kafka.producer({ transactionalId: uniqueName('rte-tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const expected: string[] = [];
    for (let t = 0; t < 30; t++) {
      const tx = await producer.transaction();
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${(t * 50 + i) % 97}`, value: `t${t} v${i}`, headers: { h: `${t}` }, partition: i % 3 }));
      await tx.send({ topic, messages });
      if (t % 4 === 3) await tx.abort();
      else {
        await tx.commit();
        expected.push(...messages.map((m) => `${m.partition}/${m.key}=${m.value}`));
      }
    }
    await producer.disconnect();
    const groupsBefore = (await admin.listGroups()).groups.length;
    const { got, lines } = await read([topic, uniqueName('absent')]);
    expect(lines).toEqual(['topics-read']);
    // Per partition, the committed records in production order (partition = i % 3 here, keys chosen per record).
    const byPartition = (xs: string[]) => [0, 1, 2].map((p) => xs.filter((x) => x.startsWith(`${p}/`)).map((x) => x.slice(2)));
    const gotIn = got.map((g) => `${Number(/ v(\d+)$/.exec(g.value!)![1]) % 3}/${g.key}=${g.value}`);
    expect(byPartition(gotIn)).toEqual(byPartition(expected));
    expect(got.every((g) => g.h === /^t(\d+)/.exec(g.value!)![1])).toBe(true);
    expect((await admin.listGroups()).groups.length).toBe(groupsBefore);
  });

  it('ends at the last stable offset: committed records before an open transaction are read, the open one is not waited for', async () => {
    const topic = uniqueName('rte-open');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer({ transactionalId: uniqueName('rte-open-tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const first = await producer.transaction();
    await first.send({ topic, messages: [{ key: 'a', value: 'committed' }] });
    await first.commit();
    const open = await producer.transaction();
    await open.send({ topic, messages: [{ key: 'b', value: 'open' }] });
    const t0 = Date.now();
    const { got } = await read([topic]);
    expect(got.map((g) => g.value)).toEqual(['committed']);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await open.abort();
    await producer.disconnect();
  });
});
