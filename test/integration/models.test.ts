import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSinkConfig, type SinkConfig } from '../../src/config.ts';
import { dbtExecutable, installDbt, runDbt } from '../../src/models-command.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { dropPostgresSchemas, syncIntoBothSinks } from './support/both-sinks.ts';
import { pipelineEnv, services, uniqueName } from './support/harness.ts';

const DAY_MS = 86_400_000;
type Row = Record<string, unknown>;

/**
 * The dbt project (dbt/) over a synced sink: deals of the local Pipedrive are moved through stages, won and
 * lost at known times, synced (every version into deal_history), sunk into DuckDB and into PostgreSQL, and
 * `dbt build` (every model and its unique / not_null / relationships tests) must pass on both. The model
 * numbers are compared with figures computed here from the simulator's store: won value per owner and
 * currency, open deals per stage, and the days the moved deals spent in each stage.
 */
describe('dbt models over the sink', () => {
  let sim: Simulator;
  let env: Record<string, string>;
  const moved: Array<{ deal: number; stages: number[]; daysInFirst: number; daysInSecond: number }> = [];
  const dir = mkdtempSync(join(tmpdir(), 'pcdc-models-'));
  const pgSchema = uniqueName('models').replace(/[^a-z0-9_]/g, '_');

  const api = async (method: string, path: string, body?: unknown): Promise<Row> => {
    const res = await fetch(`${sim.baseUrl}${path}`, { method, headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as { success: boolean; data: Row };
    if (!res.ok || !json.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json.data;
  };

  beforeAll(async () => {
    installDbt();
    sim = await startSimulator({ seed: 11, deals: 60, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    const prefix = uniqueName('models');
    env = pipelineEnv(sim, prefix, { HISTORY_REBUILD: 'all', DUCKDB_PATH: join(dir, 'sink.duckdb'), DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: pgSchema });

    // Three open deals that never changed stage walk two stages forward: 2 days in the first stage after the
    // move, 3 in the next. (A generated deal with a stage_change_time came from another stage: see seed.ts.)
    const open = sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && r.data.status === 'open' && r.data.stage_change_time === null).slice(0, 3);
    expect(open).toHaveLength(3);
    const stagesOf = (pipeline: number) => sim.store.stages.all().filter((s) => s.deletedAtMs === null && s.data.pipeline_id === pipeline).sort((a, b) => a.data.order_nr - b.data.order_nr).map((s) => s.id);
    for (const d of open) {
      const stages = stagesOf(d.data.pipeline_id);
      const at = stages.indexOf(d.data.stage_id);
      const next = [stages[(at + 1) % stages.length]!, stages[(at + 2) % stages.length]!];
      moved.push({ deal: d.id, stages: [d.data.stage_id, ...next], daysInFirst: (sim.clock.nowMs() - d.addSec * 1000) / DAY_MS, daysInSecond: 2 });
    }
    for (const m of moved) await api('PATCH', `/api/v2/deals/${m.deal}`, { stage_id: m.stages[1] });
    sim.clock.advance(2 * DAY_MS);
    for (const m of moved) await api('PATCH', `/api/v2/deals/${m.deal}`, { stage_id: m.stages[2] });
    sim.clock.advance(3 * DAY_MS);
    // Some deals won and lost now.
    const others = sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && r.data.status === 'open' && !moved.some((m) => m.deal === r.id));
    await api('PATCH', `/api/v2/deals/${others[0]!.id}`, { status: 'won' });
    await api('PATCH', `/api/v2/deals/${others[1]!.id}`, { status: 'lost' });
    sim.clock.advance(1000);

    await syncIntoBothSinks(env);
  }, 600_000);

  afterAll(async () => {
    await sim?.close();
    await dropPostgresSchemas(`${pgSchema}`, `${pgSchema}_models`);
  });

  /** `dbt build` against the sink of `config`: its exit code and output. */
  const dbtBuild = (config: SinkConfig) =>
    new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = runDbt(config, ['build'], { stdio: 'pipe', env: { ...process.env, DBT_TARGET_PATH: join(dir, `target-${config.destination}`), DBT_LOG_PATH: join(dir, `logs-${config.destination}`) } });
      let output = '';
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, output }));
    });

  /** What the models must say, computed from the simulator's store (not from the sink or the models). */
  const expected = () => {
    const deals = sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_deleted).map((r) => r.data);
    const wonValue = new Map<string, number>();
    for (const d of deals) if (d.status === 'won') wonValue.set(`${d.owner_id} ${d.currency}`, (wonValue.get(`${d.owner_id} ${d.currency}`) ?? 0) + d.value);
    const openPerStage = new Map<number, number>();
    for (const d of deals) if (d.status === 'open') openPerStage.set(d.stage_id, (openPerStage.get(d.stage_id) ?? 0) + 1);
    return { wonValue, openPerStage };
  };

  const check = (won: Row[], funnel: Row[], durations: Row[]) => {
    const want = expected();
    expect(new Map(won.map((r) => [`${r.owner_id} ${r.currency}`, Number(r.won_value)]))).toEqual(want.wonValue);
    expect(want.wonValue.size).toBeGreaterThan(2);
    for (const r of funnel) expect(Number(r.open_deals), `open deals in stage ${r.stage_id}`).toBe(want.openPerStage.get(Number(r.stage_id)) ?? 0);
    expect(funnel.reduce((n, r) => n + Number(r.open_deals), 0)).toBe([...want.openPerStage.values()].reduce((a, b) => a + b, 0));
    for (const m of moved) {
      const stays = durations.filter((r) => Number(r.deal_id) === m.deal).sort((a, b) => Number(a.stage_visit) - Number(b.stage_visit));
      expect(stays.map((r) => Number(r.stage_id)), `deal ${m.deal}: stages`).toEqual(m.stages);
      expect(Number(stays[0]!.days_in_stage), `deal ${m.deal}: days in its first stage`).toBeCloseTo(m.daysInFirst, 4);
      expect(Number(stays[1]!.days_in_stage), `deal ${m.deal}: days in its second stage`).toBeCloseTo(m.daysInSecond, 6);
      expect(stays[2]!.days_in_stage, `deal ${m.deal}: the current stay has no end`).toBeNull();
    }
  };

  const wonSql = 'SELECT owner_id, currency, sum(won_value) AS won_value FROM pipedrive__owner_performance WHERE won_deals > 0 GROUP BY owner_id, currency';
  const funnelSql = 'SELECT stage_id, open_deals FROM pipedrive__sales_funnel';
  const durationSql = 'SELECT deal_id, stage_visit, stage_id, days_in_stage FROM pipedrive__deal_stage_duration';

  it('dbt build passes on the DuckDB sink and the models equal the store', { timeout: 300_000 }, async () => {
    expect(dbtExecutable()).toBeTruthy();
    const config = loadSinkConfig({ ...env, SINK_DESTINATION: 'duckdb' });
    const { code, output } = await dbtBuild(config);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0/);
    const instance = await DuckDBInstance.create(join(dir, 'sink.models.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    const read = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[];
    try {
      check(await read(wonSql), await read(funnelSql), await read(durationSql));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it('dbt build passes on the PostgreSQL sink and the models equal the store', { timeout: 300_000 }, async () => {
    const config = loadSinkConfig({ ...env, SINK_DESTINATION: 'postgres' });
    const { code, output } = await dbtBuild(config);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0/);
    const client = new pg.Client({ connectionString: services().databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${pgSchema}_models"`);
      const read = async (sql: string) => (await client.query(sql)).rows as Row[];
      check(await read(wonSql), await read(funnelSql), await read(durationSql));
    } finally {
      await client.end();
    }
  });
});
