import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { dropPostgresSchemas, syncIntoBothSinks } from './support/both-sinks.ts';
import { pipelineEnv, services, uniqueName } from './support/harness.ts';

type Row = Record<string, unknown>;

/**
 * SQL written against Fivetran's documented Pipedrive schema (DEAL_HISTORY with USER_ID, CREATED_AT, DELETED
 * and _FIVETRAN_ACTIVE/_START; STAGE with ROTTEN_FLAG/ROTTEN_DAYS; USER; _FIVETRAN_DELETED/_SYNCED) runs
 * unchanged on a sink with SINK_NAMING=fivetran, on DuckDB and on PostgreSQL, and returns the rows the
 * simulator's store says it must.
 */
const QUERIES = {
  currentDeals: 'SELECT id, title, user_id, stage_id, created_at, deleted FROM deal_history WHERE _fivetran_active ORDER BY id',
  dealsPerOwner: 'SELECT u.name AS owner, count(*) AS deals FROM deal_history d JOIN "user" u ON u.id = d.user_id WHERE d._fivetran_active GROUP BY u.name ORDER BY u.name',
  stages: 'SELECT s.id, s.name, s.rotten_flag, s.rotten_days, p.name AS pipeline FROM stage s JOIN pipeline p ON p.id = s.pipeline_id WHERE NOT s._fivetran_deleted ORDER BY s.id',
  versions: 'SELECT title FROM deal_history WHERE id = $1 ORDER BY _fivetran_start',
  deletedDeals: 'SELECT id FROM deal WHERE _fivetran_deleted ORDER BY id',
  unsynced: 'SELECT count(*) AS n FROM deal_history WHERE _fivetran_synced IS NULL',
} as const;

describe('SINK_NAMING=fivetran: Fivetran-schema SQL runs unchanged', () => {
  let sim: Simulator;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'pcdc-fivetran-'));
  const pgSchema = uniqueName('ftnames').replace(/[^a-z0-9_]/g, '_');
  let renamed: { id: number; titles: string[] };
  let deleted: number;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, deals: 25, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    env = pipelineEnv(sim, uniqueName('ftnames'), { HISTORY_REBUILD: 'all', SINK_NAMING: 'fivetran', DUCKDB_PATH: join(dir, 'sink.duckdb'), DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: pgSchema });
    const live = sim.store.deals.table.all().filter((r) => r.deletedAtMs === null);
    // A deal without a generated past (no stage change, still open): its history is its three titles.
    const target = live.find((r) => r.data.stage_change_time === null && r.data.status === 'open')!;
    renamed = { id: target.id, titles: [target.data.title, 'Renamed once', 'Renamed twice'] };
    sim.clock.advance(60_000);
    sim.store.deals.update(target.id, { title: 'Renamed once' });
    sim.clock.advance(60_000);
    sim.store.deals.update(target.id, { title: 'Renamed twice' });
    deleted = live.find((r) => r.id !== target.id)!.id;
    sim.store.deals.delete(deleted);
    sim.clock.advance(1000);
    await syncIntoBothSinks(env);
  }, 300_000);

  afterAll(async () => {
    await sim?.close();
    await dropPostgresSchemas(pgSchema);
  });

  /** The rows each query must return, from the simulator's store. */
  const expected = () => {
    const s = sim.store;
    const deals = s.deals.table.all().filter((r) => r.deletedAtMs === null).sort((a, b) => a.id - b.id);
    const ownerName = (id: number) => s.v1.users.get(id)!.data.name;
    const perOwner = new Map<string, number>();
    for (const d of deals) perOwner.set(ownerName(d.data.owner_id), (perOwner.get(ownerName(d.data.owner_id)) ?? 0) + 1);
    return {
      currentDeals: deals.map((d) => ({ id: d.id, title: d.data.title, user_id: d.data.owner_id, stage_id: d.data.stage_id, created_at: new Date(d.addSec * 1000).toISOString(), deleted: false })),
      dealsPerOwner: [...perOwner].sort(([a], [b]) => (a < b ? -1 : 1)).map(([owner, n]) => ({ owner, deals: n })),
      stages: s.stages.all().filter((r) => r.deletedAtMs === null).sort((a, b) => a.id - b.id).map((r) => ({
        id: r.id, name: r.data.name, rotten_flag: r.data.is_deal_rot_enabled, rotten_days: r.data.days_to_rotten, pipeline: s.pipelines.getLive(r.data.pipeline_id)!.data.name,
      })),
    };
  };

  /** Driver values → plain JSON-ish values (bigint/numeric strings → numbers, timestamps → ISO). */
  const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k,
    typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : typeof v === 'string' && /^\d+$/.test(v) && ['id', 'user_id', 'stage_id', 'deals', 'n', 'rotten_days'].includes(k) ? Number(v) : v])));

  const checkAll = async (query: (sql: string, params?: unknown[]) => Promise<Row[]>) => {
    const want = expected();
    expect(want.currentDeals.length).toBeGreaterThan(10);
    expect(want.stages.length).toBeGreaterThan(3);
    expect(plain(await query(QUERIES.currentDeals))).toEqual(want.currentDeals);
    expect(plain(await query(QUERIES.dealsPerOwner))).toEqual(want.dealsPerOwner);
    expect(plain(await query(QUERIES.stages))).toEqual(want.stages);
    expect(plain(await query(QUERIES.versions, [renamed.id])).map((r) => r.title)).toEqual(renamed.titles);
    expect(plain(await query(QUERIES.deletedDeals))).toEqual([{ id: deleted }]);
    expect(plain(await query(QUERIES.unsynced))).toEqual([{ n: 0 }]);
  };

  it('on DuckDB', async () => {
    const instance = await DuckDBInstance.create(join(dir, 'sink.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      await checkAll(async (sql, params) => (await conn.runAndReadAll(sql, params as never)).getRowObjectsJS() as Row[]);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it('on PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: services().databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${pgSchema}"`);
      await checkAll(async (sql, params) => (await client.query(sql, params)).rows as Row[]);
    } finally {
      await client.end();
    }
  });
});
