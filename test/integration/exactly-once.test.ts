import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { canonicalRows } from './support/compare.ts';
import { pipelineEnv, parseJsonLine, readTopic, runCli, uniqueName } from './support/harness.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

type DealValue = Record<string, unknown> & { id: number; __op: string; __source_ts_ms: number; __synced_ms: number };

/**
 * Crash tests with real processes: the producer and the sink are killed (SIGKILL, through failpoints)
 * between and in the middle of batches, then restarted; nothing is lost and nothing is applied twice.
 */
describe('exactly once across crashes', () => {
  let sim: Simulator;
  const prefix = uniqueName('eo');
  const topic = `${prefix}.deal`;
  const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-eo-')), 'sink.duckdb');
  const env = (extra: Record<string, string> = {}) => ({
    ...pipelineEnv(sim, prefix),
    TABLES: 'deal',
    HISTORY_REBUILD: 'off',
    TOPIC_PARTITIONS: '2',
    METRICS_PORT: '0',
    SINK_METRICS_PORT: '0',
    // The killed sink's group membership would otherwise hold its partitions for the default 30 s.
    SINK_SESSION_TIMEOUT_MS: '6000',
    DUCKDB_PATH: duckPath,
    PIPEDRIVE_CDC_FAILPOINT: '',
    ...extra,
  });

  beforeAll(async () => {
    sim = await startSimulator({ seed: 11, deals: 1200 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('producer: killed between batches and mid-batch, restarted, every change exactly once', async () => {
    // 1) Killed right after its first transaction committed (between batches).
    const first = runCli(['run', '--once'], env({ PIPEDRIVE_CDC_FAILPOINT: 'publish.after-commit:1' }));
    expect(await first.exit).toBe('SIGKILL');
    // Commit markers are written asynchronously after the commit returned: wait for them to be visible.
    let afterFirst = await readTopic(topic);
    for (let i = 0; i < 50 && afterFirst.length < 500; i++) {
      await new Promise((r) => setTimeout(r, 200));
      afterFirst = await readTopic(topic);
    }
    expect(afterFirst.length).toBe(500); // exactly the first page

    // Changes while it is down, two of them to one deal within one second.
    sim.clock.freeze();
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/1', { title: 'changed once' });
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/1', { title: 'changed twice' });
    await api(sim.baseUrl, sim.token, 'DELETE', '/api/v2/deals/2');
    sim.clock.unfreeze();

    // 2) Killed inside a transaction: its records reached the broker but were never committed.
    const second = runCli(['run', '--once'], env({ PIPEDRIVE_CDC_FAILPOINT: 'publish.before-commit:1' }));
    expect(await second.exit).toBe('SIGKILL');

    // 3) A clean run resumes from the state topic and catches up.
    const third = runCli(['run', '--once'], env());
    expect(await third.exit, third.lines.join('\n')).toBe(0);
    const resumed = third.lines.map(parseJsonLine).find((l) => l?.event === 'table-resumed');
    expect(resumed?.cursor).not.toBeNull();

    const committed = await readTopic(topic);
    const uncommitted = await readTopic(topic, { readUncommitted: true, decode: false });
    expect(uncommitted.length).toBeGreaterThan(committed.length); // the aborted transaction's records exist…
    // …and read_committed hides them: no version of a deal appears twice.
    const versions = committed.filter((r) => r.value !== null).map((r) => r.value as DealValue);
    const seen = new Set<string>();
    for (const v of versions) {
      const { __synced_ms: _synced, __op: _op, ...content } = v;
      const id = JSON.stringify(content);
      expect(seen.has(id), `duplicate version of deal ${v.id}`).toBe(false);
      seen.add(id);
    }
    // Every seeded deal was read in the snapshot (a deal changed during the snapshot is read again, as its
    // new version), and the last version of each equals the source.
    const reads = versions.filter((v) => v.__op === 'r');
    expect(new Set(reads.map((v) => v.id)).size).toBe(1200);
    const source = await listAllDeals(sim.baseUrl, sim.token);
    const last = new Map<number, DealValue>();
    for (const v of versions) last.set(Number(v.id), v);
    expect(last.size).toBe(source.length);
    const expected = canonicalRows(deal, source);
    const got = canonicalRows(
      deal,
      [...last.values()].map((v) => ({
        ...v,
        ...Object.fromEntries(deal.columns.filter((c) => c.type === 'timestamp').map((c) => [c.name, v[c.name] === null ? null : new Date(v[c.name] as number)])),
        expected_close_date: v.expected_close_date === null ? null : new Date((v.expected_close_date as number) * 86_400_000),
      })),
    );
    expect(got).toEqual(expected);
    expect(last.get(1)?.title).toBe('changed twice');
    expect(last.get(2)?.__op).toBe('d');

    // The state topic holds the resumed cursor: the newest update time of all deals.
    const state = await readTopic(`${prefix}._state`, { decode: false });
    const lastState = JSON.parse((state.at(-1)!.value as Buffer).toString('utf8')) as { cursorMs: number; snapshotDone: boolean };
    const newest = Math.max(...source.map((d) => Date.parse(String(d.update_time))));
    expect(lastState.cursorMs).toBe(newest);
    expect(lastState.snapshotDone).toBe(true);
    expect(JSON.parse((state.at(-1)!.key as Buffer).toString('utf8'))).toEqual([prefix, { table: 'deal' }]);
  });

  it('sink: killed inside a database transaction, restarted, every record applied exactly once', async () => {
    const records = await readTopic(topic, { decode: false });
    const wanted = new Map<number, bigint[]>();
    for (const r of records) wanted.set(r.partition, [...(wanted.get(r.partition) ?? []), r.offset]);

    // One partition's batch a transaction (the sink would apply these few records in one), so the second
    // transaction is there to be killed in, the first one committed.
    const crashed = runCli(['sink'], env({ PIPEDRIVE_CDC_FAILPOINT: 'sink.before-db-commit:2', SINK_MAX_TRANSACTION_RECORDS: '1' }));
    expect(await crashed.exit).toBe('SIGKILL');
    const restarted = runCli(['sink'], env());
    // The sink also consumes the deal history and change topics; the accounting below is of the deal topic.
    const applied = () => [...crashed.lines, ...restarted.lines].map(parseJsonLine).filter((l) => l?.event === 'batch-applied' && l.topic === topic);
    const deadline = Date.now() + 60_000;
    while (applied().reduce((n, l) => n + Number(l!.records), 0) < records.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    restarted.child.kill('SIGTERM');
    expect(await restarted.exit).toBe(0);

    // The committed ranges of both runs cover every offset of every partition exactly once.
    const ranges = applied();
    expect(ranges.length).toBeGreaterThan(1);
    const covered = new Map<number, bigint[]>();
    for (const l of ranges) {
      const p = Number(l!.partition);
      const inRange = (wanted.get(p) ?? []).filter((o) => o >= BigInt(String(l!.firstOffset)) && o <= BigInt(String(l!.lastOffset)));
      covered.set(p, [...(covered.get(p) ?? []), ...inRange]);
    }
    for (const [p, offsets] of wanted) expect(covered.get(p), `partition ${p}`).toEqual(offsets);

    const instance = await DuckDBInstance.create(duckPath);
    const conn = await instance.connect();
    const rows = (await conn.runAndReadAll('SELECT * FROM deal')).getRowObjectsJS() as Array<Record<string, unknown>>;
    const offsets = (await conn.runAndReadAll('SELECT topic, "partition", next_offset FROM _pipedrive_cdc_offsets')).getRowObjectsJS();
    conn.closeSync();
    instance.closeSync();
    expect(canonicalRows(deal, rows)).toEqual(canonicalRows(deal, await listAllDeals(sim.baseUrl, sim.token)));
    for (const o of offsets.filter((x) => x.topic === topic)) {
      const last = wanted.get(Number(o.partition))!.at(-1)!;
      expect(BigInt(o.next_offset as bigint)).toBe(last + 1n);
    }
  });
});
