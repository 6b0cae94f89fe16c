import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type LocalPostgres } from '../../src/infra/postgres.ts';
import { parseJsonLine, runCli, services, uniqueName, type CliRun } from './support/harness.ts';
import { startProxy } from './support/proxy.ts';
import { TestTopics, coverage, expectedLatest, latestRows, readTable, type WrittenRecord } from './support/records.ts';

/**
 * Outages under a running sink (a real process): transient failures are waited out inside it — logged
 * (`retrying` / `recovered`) and counted (pipedrive_cdc_retries_total{dependency}) — and nothing is lost or
 * applied twice; failures waiting cannot fix end it at once with a message saying what to do.
 */
describe('sink outages', () => {
  const prefix = uniqueName('outage');
  const topic = `${prefix}.deal`;
  let topics: TestTopics;
  const clock = { ts: Date.parse('2026-05-01T00:00:00Z') };
  const written: WrittenRecord[] = [];
  let n = 0;
  /** One transaction of 5 updates over 50 keys, every so often a delete and its tombstone. */
  const writeOne = async () => {
    const rows = [];
    for (let i = 0; i < 5; i++, n++) {
      const id = 1 + (n % 50);
      const ts = (clock.ts += 1000);
      if (n % 23 === 22) rows.push({ id, title: `gone ${ts}`, op: 'd' as const, ts }, { tombstone: id });
      else rows.push({ id, title: `v ${ts}`, op: 'u' as const, ts });
    }
    written.push(...(await topics.write('deal', rows)));
  };
  const env = (extra: Record<string, string>) => ({
    KAFKA_BROKERS: services().brokers.join(','),
    SCHEMA_REGISTRY_URL: services().registryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    SINK_METRICS_PORT: '0',
    SINK_SESSION_TIMEOUT_MS: '6000',
    PIPEDRIVE_CDC_FAILPOINT: '',
    ...extra,
  });
  const events = (run: CliRun) => run.lines.map(parseJsonLine).filter((l): l is Record<string, unknown> => l !== null);
  const retriesMetric = async (run: CliRun, dependency: string) => {
    const url = String(events(run).find((l) => l.event === 'metrics')!.url);
    const text = await (await fetch(url)).text();
    return Number(new RegExp(`pipedrive_cdc_retries_total\\{dependency="${dependency}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    topics = await TestTopics.create(prefix, [{ name: 'deal' }]);
    for (let i = 0; i < 10; i++) await writeOne();
  });
  afterAll(() => topics?.close());

  describe('PostgreSQL stopped for 30 s while records keep arriving', () => {
    let db: LocalPostgres;
    beforeAll(async () => {
      db = await startPostgres();
    });
    afterAll(() => db?.stop());

    it('the sink does not exit, re-connects, catches up; nothing lost or applied twice', async () => {
      const sink = runCli(['sink'], env({ SINK_DESTINATION: 'postgres', DATABASE_URL: db.url, SINK_GROUP_ID: `${prefix}-pg` }));
      try {
        await sink.waitForLine((l) => l.event === 'batch-applied');
        let writing = true;
        const writer = (async () => {
          while (writing) {
            await writeOne();
            await new Promise((r) => setTimeout(r, 300));
          }
        })();
        await new Promise((r) => setTimeout(r, 3_000));
        await db.restart(async () => {
          await sink.waitForLine((l) => l.event === 'retrying' && l.dependency === 'database', 20_000);
          await new Promise((r) => setTimeout(r, 30_000));
        });
        await new Promise((r) => setTimeout(r, 3_000));
        writing = false;
        await writer;

        const offsets = await topics.dataOffsets('deal');
        for (const deadline = Date.now() + 60_000; coverage(events(sink), topic, offsets).missing.length > 0; ) {
          if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.lines.slice(-20).join('\n')}`);
          if (Date.now() > deadline) throw new Error(`not caught up: ${coverage(events(sink), topic, offsets).missing.slice(0, 5).join(', ')}\n${sink.lines.slice(-20).join('\n')}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(sink.child.exitCode).toBeNull();
        expect(coverage(events(sink), topic, offsets)).toEqual({ twice: [], missing: [] });
        expect(events(sink).some((l) => l.event === 'recovered' && l.dependency === 'database')).toBe(true);
        expect(await retriesMetric(sink, 'database')).toBeGreaterThan(0);
        expect(latestRows(await readTable({ postgres: db.url, schema: 'public' }, 'deal'))).toEqual(expectedLatest(written));
      } finally {
        sink.child.kill('SIGTERM');
        expect(await sink.exit).toBe(0);
      }
    });
  });

  it('a schema registry that does not answer: the sink waits (logged, counted), then applies everything', async () => {
    const url = new URL(services().registryUrl);
    const proxy = await startProxy({ host: url.hostname, port: Number(url.port) }, 'blackhole');
    const schema = uniqueName('reg');
    const sink = runCli(['sink'], env({ SCHEMA_REGISTRY_URL: `http://127.0.0.1:${proxy.port}${url.pathname}`, SINK_DESTINATION: 'postgres', DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema, SINK_GROUP_ID: `${prefix}-reg` }));
    try {
      const retrying = await sink.waitForLine((l) => l.event === 'retrying' && l.dependency === 'registry', 30_000);
      expect(String(retrying.error)).toMatch(/timeout|aborted/i);
      proxy.mode = 'forward';
      await sink.waitForLine((l) => l.event === 'recovered' && l.dependency === 'registry', 60_000);
      const offsets = await topics.dataOffsets('deal');
      for (const deadline = Date.now() + 60_000; coverage(events(sink), topic, offsets).missing.length > 0; ) {
        if (Date.now() > deadline || sink.child.exitCode !== null) throw new Error(`not caught up:\n${sink.lines.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await retriesMetric(sink, 'registry')).toBeGreaterThan(0);
    } finally {
      sink.child.kill('SIGTERM');
      await sink.exit;
      await proxy.close();
    }
  });

  it('a SCHEMA_REGISTRY_URL without the Confluent API path stops the sink with a message suggesting /apis/ccompat/v7', async () => {
    const base = services().registryUrl.replace(/\/apis\/ccompat\/v7\/?$/, '');
    const sink = runCli(['sink'], env({ SCHEMA_REGISTRY_URL: base, SINK_DESTINATION: 'duckdb', DUCKDB_PATH: join(mkdtempSync(join(tmpdir(), 'pcdc-o-')), 'x.duckdb') }));
    expect(await sink.exit).toBe(1);
    expect(sink.lines.join('\n')).toContain(`${base}/apis/ccompat/v7`);
  });

  it('a DATABASE_URL naming a database that does not exist stops the sink with a message saying so, without the password', async () => {
    const url = new URL(services().databaseUrl);
    url.password = 'not-to-be-logged';
    url.pathname = '/no_such_database';
    const sink = runCli(['sink'], env({ SINK_DESTINATION: 'postgres', DATABASE_URL: url.toString() }));
    expect(await sink.exit).toBe(1);
    const output = sink.lines.join('\n');
    expect(output).toMatch(/SQLSTATE 3D000.*the database does not exist/);
    expect(output).toContain('***@');
    expect(output).not.toContain('not-to-be-logged');
  });

  it('a second sink on a DuckDB file another process holds stops at once, saying DuckDB allows one writing process per file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pcdc-o-')), 'held.duckdb');
    const holder = await DuckDBInstance.create(path);
    try {
      const sink = runCli(['sink'], env({ SINK_DESTINATION: 'duckdb', DUCKDB_PATH: path }));
      expect(await sink.exit).toBe(1);
      expect(sink.lines.join('\n')).toMatch(/one writing process per file/);
      expect(sink.lines.some((l) => parseJsonLine(l)?.event === 'retrying')).toBe(false);
    } finally {
      holder.closeSync();
    }
  });
});
