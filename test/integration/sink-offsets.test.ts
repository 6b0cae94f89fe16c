import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { openPostgres } from '../../src/sink/destinations/postgres.ts';
import { startSink } from '../../src/sink/sink.ts';
import { parseJsonLine, runCli, services, uniqueName, type CliRun } from './support/harness.ts';
import { TestTopics, coverage, expectedLatest, latestRows, readTable, type Row, type WrittenRecord } from './support/records.ts';

/**
 * Where the sink starts and that it applies each record once: the destination's offsets are the truth,
 * the Kafka group offset only a hint, and several sinks on one PostgreSQL database never apply a range
 * twice (a compare-and-set on the offsets row in every apply transaction).
 */
describe('sink offsets: the database is the truth', () => {
  const sinkEnv = (prefix: string, extra: Record<string, string>) => ({
    KAFKA_BROKERS: services().brokers.join(','),
    SCHEMA_REGISTRY_URL: services().registryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    SINK_METRICS_PORT: '0',
    SINK_SESSION_TIMEOUT_MS: '6000',
    PIPEDRIVE_CDC_FAILPOINT: '',
    ...extra,
  });

  /** Rows 1..keys updated in turn, some deleted (a `d` record and a tombstone), in transactions of `per` records. */
  async function writeSome(topics: TestTopics, transactions: number, per: number, keys: number, clock: { ts: number }): Promise<WrittenRecord[]> {
    const out: WrittenRecord[] = [];
    for (let t = 0; t < transactions; t++) {
      const rows: Array<Row | { tombstone: number }> = [];
      for (let i = 0; i < per; i++) {
        const id = 1 + ((t * per + i) % keys);
        const ts = (clock.ts += 1000);
        if ((t * per + i) % 37 === 36) rows.push({ id, title: `gone ${ts}`, op: 'd', ts }, { tombstone: id });
        else rows.push({ id, title: `v ${ts}`, op: 'u', ts });
      }
      out.push(...(await topics.write('deal', rows)));
    }
    return out;
  }

  /** Writes a transaction every `everyMs` until `stop` is called; resolves with everything written. */
  function writeSteadily(topics: TestTopics, everyMs: number, clock: { ts: number }): { stop(): Promise<WrittenRecord[]> } {
    const written: WrittenRecord[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        written.push(...(await writeSome(topics, 1, 4, 40, clock)));
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return written;
      },
    };
  }

  const applied = (...runs: CliRun[]) => runs.flatMap((r) => r.lines.map(parseJsonLine).filter((l): l is Record<string, unknown> => l !== null));

  async function untilCovered(runs: CliRun[], topic: string, offsets: Map<number, bigint[]>, timeoutMs = 60_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; coverage(applied(...runs), topic, offsets).missing.length > 0; ) {
      if (Date.now() > deadline) throw new Error(`not every offset applied after ${timeoutMs} ms: ${coverage(applied(...runs), topic, offsets).missing.slice(0, 10).join(', ')}`);
      for (const r of runs) if (r.child.exitCode !== null) throw new Error(`a sink exited:\n${r.lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function storedOffsets(schema: string): Promise<Map<string, bigint>> {
    const dest = await openPostgres(services().databaseUrl, schema);
    try {
      return await dest.readOffsets();
    } finally {
      await dest.close();
    }
  }

  describe('a fresh database', () => {
    const prefix = uniqueName('fresh');
    const topic = `${prefix}.deal`;
    let topics: TestTopics;
    let written: WrittenRecord[] = [];
    beforeAll(async () => {
      topics = await TestTopics.create(prefix, [{ name: 'deal' }]);
      written = await writeSome(topics, 12, 25, 100, { ts: Date.parse('2026-03-01T00:00:00Z') });
    });
    afterAll(() => topics?.close());

    it('with a group id whose committed offsets are at the end, still gets every row (the group offset is a hint)', async () => {
      const group = uniqueName('restored');
      const kafka = new Kafka({ clientId: 'test', brokers: services().brokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId: group, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      expect(committed!.partitions.map((p) => p.offset).sort()).toEqual(ends.map((p) => p.high).sort());
      await admin.disconnect();

      const expected = expectedLatest(written);
      const schema = uniqueName('fresh');
      const duckdb = join(mkdtempSync(join(tmpdir(), 'pcdc-fresh-')), 'sink.duckdb');
      for (const destination of ['duckdb', 'postgres'] as const) {
        const env = sinkEnv(prefix, { SINK_DESTINATION: destination, SINK_GROUP_ID: group, DUCKDB_PATH: duckdb, DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema });
        const sink = await startSink(loadSinkConfig(env), { metrics: createMetrics('sink'), log: silentLogger });
        await sink.caughtUp(60_000);
        await sink.stop();
        const rows = latestRows(await readTable(destination === 'duckdb' ? { duckdb } : { postgres: services().databaseUrl, schema }, 'deal'));
        expect(rows.size, destination).toBe(expected.size);
        expect(rows, destination).toEqual(expected);
      }
    });
  });

  describe('two sinks on one PostgreSQL schema', () => {
    it('in one consumer group, through rebalances (joins, a leave, a rejoin): every record applied once', async () => {
      const prefix = uniqueName('twins');
      const topic = `${prefix}.deal`;
      const schema = uniqueName('twins');
      const topics = await TestTopics.create(prefix, [{ name: 'deal' }]);
      try {
        const clock = { ts: Date.parse('2026-03-01T00:00:00Z') };
        const backlog = await writeSome(topics, 10, 20, 40, clock);
        const env = sinkEnv(prefix, { SINK_DESTINATION: 'postgres', DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema });
        const steady = writeSteadily(topics, 150, clock);
        const a1 = runCli(['sink'], env);
        await a1.waitForLine((l) => l.event === 'batch-applied');
        const b = runCli(['sink'], env);
        await b.waitForLine((l) => l.event === 'partitions-opened');
        await new Promise((r) => setTimeout(r, 2_000));
        a1.child.kill('SIGTERM'); // leaves the group: b takes every partition
        expect(await a1.exit).toBe(0);
        await new Promise((r) => setTimeout(r, 2_000));
        const a2 = runCli(['sink'], env);
        await a2.waitForLine((l) => l.event === 'partitions-opened');
        await new Promise((r) => setTimeout(r, 2_000));
        const written = [...backlog, ...(await steady.stop())];
        const offsets = await topics.dataOffsets('deal');
        await untilCovered([a1, b, a2], topic, offsets);
        for (const r of [b, a2]) r.child.kill('SIGTERM');
        expect(await b.exit).toBe(0);
        expect(await a2.exit).toBe(0);

        expect(coverage(applied(a1, b, a2), topic, offsets)).toEqual({ twice: [], missing: [] });
        expect(latestRows(await readTable({ postgres: services().databaseUrl, schema }, 'deal'))).toEqual(expectedLatest(written));
        const stored = await storedOffsets(schema);
        for (const [p, os] of offsets) expect(stored.get(`${topic}:${p}`), `partition ${p}`).toBe(os.at(-1)! + 1n);
        // Each of the three runs owned partitions at some point.
        for (const r of [a1, b, a2]) expect(applied(r).some((l) => l.event === 'batch-applied')).toBe(true);
      } finally {
        await topics.close();
      }
    });

    it('in two consumer groups, both consuming everything: every record applied once, the loser of each race continues after it', async () => {
      const prefix = uniqueName('rivals');
      const topic = `${prefix}.deal`;
      const schema = uniqueName('rivals');
      const topics = await TestTopics.create(prefix, [{ name: 'deal' }]);
      try {
        const clock = { ts: Date.parse('2026-03-01T00:00:00Z') };
        const backlog = await writeSome(topics, 10, 20, 40, clock);
        const common = { SINK_DESTINATION: 'postgres', DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema };
        const steady = writeSteadily(topics, 100, clock);
        const c = runCli(['sink'], sinkEnv(prefix, { ...common, SINK_GROUP_ID: `${prefix}-one` }));
        const d = runCli(['sink'], sinkEnv(prefix, { ...common, SINK_GROUP_ID: `${prefix}-two` }));
        await Promise.all([c, d].map((r) => r.waitForLine((l) => l.event === 'partitions-opened')));
        await new Promise((r) => setTimeout(r, 6_000));
        const written = [...backlog, ...(await steady.stop())];
        const offsets = await topics.dataOffsets('deal');
        await untilCovered([c, d], topic, offsets);
        for (const r of [c, d]) r.child.kill('SIGTERM');
        expect(await c.exit).toBe(0);
        expect(await d.exit).toBe(0);

        expect(coverage(applied(c, d), topic, offsets)).toEqual({ twice: [], missing: [] });
        expect(latestRows(await readTable({ postgres: services().databaseUrl, schema }, 'deal'))).toEqual(expectedLatest(written));
        const stored = await storedOffsets(schema);
        for (const [p, os] of offsets) expect(stored.get(`${topic}:${p}`), `partition ${p}`).toBe(os.at(-1)! + 1n);
        const conflicts = applied(c, d).filter((l) => l.event === 'offset-conflict').length;
        console.log(`two groups on one schema: ${applied(c, d).filter((l) => l.event === 'batch-applied').length} batches applied, ${conflicts} lost races (offset-conflict)`);
      } finally {
        await topics.close();
      }
    });
  });

  it('compare-and-set: of two transactions moving one partition from the same offset, exactly one applies', async () => {
    const schema = uniqueName('cas');
    const [x, y] = [await openPostgres(services().databaseUrl, schema), await openPostgres(services().databaseUrl, schema)];
    try {
      expect(await x.apply([], { topic: 't', partition: 0, expected: null, next: 10n })).toEqual({ applied: true });
      expect(await y.apply([], { topic: 't', partition: 0, expected: null, next: 5n })).toEqual({ applied: false, stored: 10n });
      const results = await Promise.all([x.apply([], { topic: 't', partition: 0, expected: 10n, next: 20n }), y.apply([], { topic: 't', partition: 0, expected: 10n, next: 30n })]);
      expect(results.filter((r) => r.applied)).toHaveLength(1);
      const winner = results[0]!.applied ? 20n : 30n;
      expect(results.find((r) => !r.applied)).toEqual({ applied: false, stored: winner });
      expect((await x.readOffsets()).get('t:0')).toBe(winner);
    } finally {
      await x.close();
      await y.close();
    }
  });
});
