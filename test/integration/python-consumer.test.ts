import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { PYTHON_CLIENTS_DIR, pythonClients } from '../infra/python-clients.ts';
import { pipelineEnv, readTopic, services, uniqueName } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

type Row = Record<string, unknown>;
interface PyRecord {
  partition: number;
  offset: number;
  key: Row;
  value: Row | null;
  headers: Record<string, string | null>;
}

/** The topic as Confluent's Python client reads it: DeserializingConsumer + AvroDeserializer, read_committed. */
function readWithPython(topic: string): PyRecord[] {
  const { brokers, registryUrl } = services();
  const r = spawnSync(pythonClients(), [join(PYTHON_CLIENTS_DIR, 'read_topic.py'), brokers.join(','), registryUrl, topic], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`read_topic.py: ${r.error.message} (the Python clients' venv is made by test/infra/setup.sh, the first step of npm test)`);
  if (r.status !== 0) throw new Error(`read_topic.py ${topic}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PyRecord);
}

const ms = (t: unknown) => Date.parse(String(t));

/**
 * A service team's consumer in Python reads what the producer published: Confluent's client resolves every
 * record's schema from the registry by the id in its header, keys and values decode, timestamps come as
 * datetimes, a delete is an `__op: d` record followed by a tombstone, and what it reads equals the local
 * Pipedrive's store (the oracle) — not the product's own decoder.
 */
describe("Confluent's Python client reads the topics", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 33, deals: 40 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('deals and their history decode with AvroDeserializer; last values equal the store; a delete is __op d then a tombstone', async () => {
    const prefix = uniqueName('py');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off', TOPIC_PARTITIONS: '3', METRICS_PORT: '0' });
    const once = () => startProducer(loadProducerConfig(env), { metrics: createMetrics(), log: silentLogger, untilCaughtUp: true }).done;
    await once();
    sim.clock.advance(2000);
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/4', { title: 'Ünïcode & "quotes" — changed', value: 1234.5 });
    await api(sim.baseUrl, sim.token, 'DELETE', '/api/v2/deals/9');
    await once();

    const records = readWithPython(`${prefix}.deal`);
    // The same records as an independent kafkajs consumer sees (both read committed only).
    expect(records.length).toBe((await readTopic(`${prefix}.deal`)).length);
    const last = new Map<number, PyRecord>();
    const byKey = new Map<number, PyRecord[]>();
    for (const r of records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      const id = Number(r.key.id);
      last.set(id, r);
      byKey.set(id, [...(byKey.get(id) ?? []), r]);
    }
    const store = sim.store.deals.table.all();
    expect(new Set(last.keys())).toEqual(new Set(store.map((d) => d.id)));
    for (const d of store) {
      const got = last.get(d.id)!;
      if (d.deletedAtMs !== null) {
        const seq = byKey.get(d.id)!;
        expect(got.value, `deal ${d.id}: ends with a tombstone`).toBeNull();
        expect(seq.at(-2)?.value?.__op, `deal ${d.id}: the delete record before it`).toBe('d');
        continue;
      }
      const data = d.data as unknown as Row;
      const v = got.value!;
      expect(v.id).toBe(d.id);
      expect(v.title, `deal ${d.id} title`).toBe(data.title);
      expect(v.value, `deal ${d.id} value`).toBe(data.value);
      expect(v.currency).toBe(data.currency);
      expect(v.status).toBe(data.status);
      // timestamp-millis → a timezone-aware datetime in Python, the same instant.
      expect(String(v.update_time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
      expect(ms(v.update_time), `deal ${d.id} update_time`).toBe(ms(data.update_time));
      expect(['r', 'c', 'u']).toContain(v.__op);
    }
    expect(last.get(4)?.value?.title).toBe('Ünïcode & "quotes" — changed');
    expect(store.some((d) => d.id === 9 && d.deletedAtMs !== null)).toBe(true);

    // Every version went to the history topic too, and decodes as well.
    const history = readWithPython(`${prefix}.deal_history`);
    expect(history.length).toBeGreaterThan(store.length);
    const titles = history.filter((r) => Number(r.key.id) === 4 && r.value !== null).map((r) => r.value!.title);
    expect(titles).toContain('Ünïcode & "quotes" — changed');
  }, 120_000);
});
