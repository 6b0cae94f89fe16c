// Proves the integration services are real: a transactional Kafka round trip that must hide an aborted
// transaction, an Avro register/encode/decode through the Confluent-compatible registry, a PostgreSQL
// query, and a Prometheus that scrapes a tiny /metrics server and answers PromQL about it.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import pg from 'pg';
import { startServices, type Services } from '../../src/infra/services.ts';

const run = randomBytes(4).toString('hex');
const topic = `infra-test-${run}`;

describe('integration infrastructure', () => {
  it('workers see the endpoints globalSetup exported through process.env', () => {
    expect(process.env.KAFKA_BROKERS).toMatch(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/);
    expect(process.env.SCHEMA_REGISTRY_URL).toMatch(/^https?:\/\/.+/);
    expect(process.env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/.+/);
  });

  it('Kafka: transactional produce, read_committed group consume, topic offsets', async () => {
    const kafka = new Kafka({ clientId: `infra-test-${run}`, brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

    const producer = kafka.producer({ idempotent: true, transactionalId: `infra-test-tx-${run}`, maxInFlightRequests: 1 });
    await producer.connect();
    const inTx = async (values: string[], commit: boolean) => {
      const tx = await producer.transaction();
      await tx.send({ topic, acks: -1, messages: values.map((value) => ({ key: 'k', value })) });
      await (commit ? tx.commit() : tx.abort());
    };
    await inTx(['a', 'b'], true);
    await inTx(['aborted'], false);
    await inTx(['c'], true);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `infra-test-group-${run}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.includes('c')) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(seen).toEqual(['a', 'b', 'c']);

    // 4 data records + 3 transaction markers (control records also take offsets).
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets).toHaveLength(1);
    expect(Number(offsets[0]!.high)).toBe(7);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('schema registry: register Avro under <topic>-value, encode, decode', async () => {
    const registry = new SchemaRegistry({ host: process.env.SCHEMA_REGISTRY_URL! });
    const schema = {
      type: 'record',
      name: 'InfraProbe',
      namespace: 'pipedrive.cdc.test',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'name', type: 'string' },
      ],
    };
    const subject = `${topic}-value`;
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);
    const payload = { id: 42, name: `probe-${run}` };
    const encoded = await registry.encode(id, payload);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the 4-byte schema id
    expect(encoded.readInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual(payload);
  });

  it('PostgreSQL: SELECT 1', async () => {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL! });
    await client.connect();
    try {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  describe('Prometheus', () => {
    let server: Server | undefined;
    let services: Services | undefined;
    afterAll(async () => {
      await services?.stop();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
    });

    it('scrapes a /metrics endpoint and answers PromQL about it', async () => {
      server = createServer((req, res) => {
        res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(req.url === '/metrics' ? `# TYPE infra_test_value gauge\ninfra_test_value{run="${run}"} 42\n` : '');
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      // PROMETHEUS_URL (external) would not scrape this server, so always start one for this test.
      const saved = process.env.PROMETHEUS_URL;
      delete process.env.PROMETHEUS_URL;
      try {
        services = await startServices({ kafka: false, registry: false, prometheus: { targets: [`127.0.0.1:${port}`] } });
      } finally {
        if (saved !== undefined) process.env.PROMETHEUS_URL = saved;
      }
      const query = `${services.prometheusUrl}/api/v1/query?query=${encodeURIComponent(`infra_test_value{run="${run}"}`)}`;
      let last: unknown;
      for (let i = 0; i < 100; i++) {
        const body = (await (await fetch(query)).json()) as { status: string; data: { result: { value: [number, string] }[] } };
        last = body;
        if (body.status === 'success' && body.data.result.length > 0) {
          expect(body.data.result[0]!.value[1]).toBe('42');
          return;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error(`Prometheus never returned the metric: ${JSON.stringify(last)}`);
    });
  });
});
