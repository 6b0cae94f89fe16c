// The outage tests' premise, checked on the real services: a dedicated Kafka broker and a registry with
// file storage that are SIGKILLed and restarted keep what a crashed production service keeps — committed
// transactions, topic configs, group offsets, transactional-id state, schema ids — and a paused registry
// accepts connections without ever answering.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { startKafka, type LocalKafka } from '../../src/infra/kafka.ts';
import { startRegistry, type LocalRegistry } from '../../src/infra/registry.ts';

// Always local processes, whatever KAFKA_BROKERS / SCHEMA_REGISTRY_URL say: only our own can be killed.
let kafka: LocalKafka;
let registry: LocalRegistry;

beforeAll(async () => {
  const started = await Promise.allSettled([startKafka(), startRegistry({ storage: 'file' })]);
  const [k, r] = started;
  if (k.status === 'fulfilled') kafka = k.value;
  if (r.status === 'fulfilled') registry = r.value;
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
});
afterAll(async () => {
  await Promise.all([kafka?.stop(), registry?.stop()]);
});

/** read_committed values of a topic from the start, by a fresh group; waits until `want` of them arrived. */
async function readCommitted(client: Kafka, topic: string, want: number, groupId = `reader-${Math.random()}`): Promise<string[]> {
  const consumer = client.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: ${seen.length} of ${want} committed records after 30 s: ${JSON.stringify(seen)}`)), 30_000);
      consumer
        .run({
          autoCommitInterval: 100,
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= want) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('a dedicated Kafka broker, killed and restarted', () => {
  it('keeps committed transactions, topic configs, group offsets and transactional-id state', async () => {
    // kafkajs' own request retries (fewer than its default 5), not a retry of the test.
    const client = new Kafka({ clientId: 'infra-restart', brokers: kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = client.admin();
    await admin.connect();
    const topic = 'restart-probe';
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'max.message.bytes', value: '2097152' }] }],
      waitForLeaders: true,
    });
    const producer = client.producer({ idempotent: true, transactionalId: 'restart-probe-tx', maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, acks: -1, messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
    await committed.commit();
    // A group that consumed (and committed its offset past) the first record.
    const groupId = 'restart-probe-group';
    expect(await readCommitted(client, topic, 1, groupId)).toContain('committed-1');
    const groupOffsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(Number(groupOffsets[0]!.partitions[0]!.offset)).toBeGreaterThan(0);
    // A transaction open at the moment of the crash, as a producer killed mid-batch leaves it.
    const open = await producer.transaction();
    await open.send({ topic, acks: -1, messages: [{ key: 'c', value: 'in-flight-at-crash' }] });
    await admin.disconnect();

    const before = kafka.pid;
    await kafka.kill();
    expect(kafka.state).toBe('killed');
    await producer.disconnect().catch(() => {}); // it only learns of the crash now
    const t0 = Date.now();
    await kafka.restart();
    const restartMs = Date.now() - t0;
    expect(restartMs).toBeLessThan(60_000);
    expect(kafka.pid).not.toBe(before);

    // The same client and broker list as before the crash: the broker is back on its port.
    const admin2 = client.admin();
    await admin2.connect();
    try {
      expect((await admin2.describeCluster()).clusterId).toBe(kafka.clusterId);
      const { resources } = await admin2.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['cleanup.policy', 'max.message.bytes'] }], includeSynonyms: false });
      const config = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      expect(config).toEqual({ 'cleanup.policy': 'compact', 'max.message.bytes': '2097152' });
      expect(await admin2.fetchOffsets({ groupId, topics: [topic] })).toEqual(groupOffsets);

      // The same transactional id again: InitProducerId finds the crashed instance's open transaction in
      // __transaction_state and aborts it, so read_committed readers get past it to the new commit. Were
      // that state lost, the open transaction would pin the last stable offset and this read would time out.
      const again = client.producer({ idempotent: true, transactionalId: 'restart-probe-tx', maxInFlightRequests: 1 });
      await again.connect();
      const tx = await again.transaction();
      await tx.send({ topic, acks: -1, messages: [{ key: 'd', value: 'committed-after-restart' }] });
      await tx.commit();
      await again.disconnect();
      expect(await readCommitted(client, topic, 3)).toEqual(['committed-1', 'committed-2', 'committed-after-restart']);
    } finally {
      await admin2.disconnect();
    }
    console.log(`[infra-restart] Kafka restart took ${(restartMs / 1000).toFixed(1)} s`);
  });
});

describe('a registry with file storage, killed and restarted', () => {
  const schema = (name: string, field: string) => JSON.stringify({ type: 'record', name, namespace: 'pipedrive.cdc.test', fields: [{ name: field, type: 'long' }] });

  it('resolves every registered schema id to the same schema, and never hands an id out twice', async () => {
    const client = new SchemaRegistry({ host: registry.url });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: schema('Before', 'x') }, { subject: 'restart-probe-value' });
    const payload = await client.encode(id, { x: 7 });

    await registry.kill(); // right after the registration answered: it must be on disk already
    const t0 = Date.now();
    await registry.restart();
    const restartMs = Date.now() - t0;

    // A fresh client, so nothing comes from a cache.
    const fresh = new SchemaRegistry({ host: registry.url });
    const byId = (await (await fetch(`${registry.url}/schemas/ids/${id}`)).json()) as { schema: string };
    expect(JSON.parse(byId.schema)).toEqual(JSON.parse(schema('Before', 'x')));
    expect(await fresh.decode(payload)).toEqual({ x: 7 });
    expect(await fresh.getLatestSchemaId('restart-probe-value')).toBe(id);
    // Same schema again: the same id. A new schema: a new id, not one reused from a reset sequence.
    expect((await fresh.register({ type: SchemaType.AVRO, schema: schema('Before', 'x') }, { subject: 'restart-probe-value' })).id).toBe(id);
    const other = await fresh.register({ type: SchemaType.AVRO, schema: schema('After', 'y') }, { subject: 'restart-probe-2-value' });
    expect(other.id).not.toBe(id);
    console.log(`[infra-restart] registry restart took ${(restartMs / 1000).toFixed(1)} s`);
  });

  it('paused: accepts TCP connections but never answers; resumed: answers', async () => {
    const port = Number(new URL(registry.url).port);
    registry.pause();
    try {
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve()));
        s.on('error', reject);
      });
      await expect(fetch(`${registry.url}/subjects`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow(/aborted|timeout/i);
    } finally {
      registry.resume();
    }
    const res = await fetch(`${registry.url}/subjects`, { signal: AbortSignal.timeout(10_000) });
    expect(await res.json()).toEqual(expect.arrayContaining(['restart-probe-value']));
  });
});
