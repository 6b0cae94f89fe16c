import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import { DEV_CLI, watchCli } from './support/harness.ts';

/**
 * `pipedrive-cdc demo` as a first impression, on the shared Kafka and registry (it then uses topics of its
 * own) with output to a pipe: plain progress lines (no terminal control characters), one final line per
 * phase, and a summary of the user's tables only — none of the destination's own.
 */
describe('demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipedrive-cdc-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('syncs a small local Pipedrive, shows its phases and lists only the synced tables', async () => {
    const deals = 40;
    const demo = watchCli(
      spawn(DEV_CLI[0], [...DEV_CLI.slice(1), 'demo', '--deals', String(deals), '--seed', '5', '--duckdb', join(dir, 'demo.duckdb'), '--exit-after-sync'], {
        cwd: dir,
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const code = await demo.exit;
    const out = demo.lines.join('\n');
    expect(code, out).toBe(0);
    expect(out, 'no terminal control characters on a pipe').not.toMatch(/[\r\x1b]/);
    expect(out).toMatch(/Kafka is shared: this run's own topics and offsets/);

    const producer = demo.lines.filter((l) => l.startsWith('  1/2 producer'));
    expect(producer.at(-1)).toMatch(/^ {2}1\/2 producer {2}(\d+)\/\1 tables · [\d,]+ records in /);
    expect(demo.lines.filter((l) => l.startsWith('  2/2 sink')).at(-1)).toMatch(/rows applied in DuckDB, caught up in/);

    const rows = demo.lines.map((l) => /^ {4}([a-z_]+) +([\d,]+) rows$/.exec(l)).filter((m) => m !== null);
    const tables = rows.map((m) => m[1]!);
    expect(tables).toContain('deal');
    expect(Number(rows.find((m) => m[1] === 'deal')![2]!.replace(/,/g, ''))).toBe(deals);
    for (const t of tables) expect(() => tableByName(t), `${t} is a catalog table`).not.toThrow();
    expect(out).not.toMatch(/_stage_|_pipedrive_cdc_offsets/);
    expect(out).toContain('stopped every process the demo started.');

    // The models step: dbt build passed, and the printed top rows of pipedrive__owner_performance equal an
    // independent aggregation of the sink's own deal and user tables (won deals per owner, UTC month, currency).
    expect(out).toMatch(/dbt build: PASS=\d+ WARN=0 ERROR=0 SKIP=0 in \d+ s/);
    const printed = demo.lines.filter((l) => l.startsWith('    | ')).slice(1).map((l) => l.slice(6, -2).split(' | ').map((c) => c.trim()));
    const instance = await DuckDBInstance.create(join(dir, 'demo.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      const live = 'FROM deal WHERE NOT _deleted AND NOT coalesce(is_deleted, false)';
      const want = (await conn.runAndReadAll(`
        WITH won AS (SELECT owner_id, strftime(won_time, '%Y-%m') AS month, currency, count(*) AS n, sum(value) AS v ${live} AND status = 'won' AND won_time IS NOT NULL GROUP BY ALL),
             lost AS (SELECT owner_id, strftime(lost_time, '%Y-%m') AS month, currency, count(*) AS n ${live} AND status = 'lost' AND lost_time IS NOT NULL GROUP BY ALL)
        SELECT u.name, w.month, w.currency, w.n AS won, w.v AS won_value, coalesce(l.n, 0) AS lost
        FROM won w LEFT JOIN lost l USING (owner_id, month, currency) LEFT JOIN "user" u ON u.id = w.owner_id
        ORDER BY w.v DESC, w.owner_id, w.month, w.currency LIMIT 5`)).getRowObjectsJS() as Array<Record<string, unknown>>;
      expect(want.length).toBeGreaterThan(0);
      expect(printed).toEqual(want.map((r) => [String(r.name), String(r.month), String(r.currency), String(r.won), Math.round(Number(r.won_value)).toLocaleString('en-US'), String(r.lost), `${Math.round((Number(r.won) / (Number(r.won) + Number(r.lost))) * 100)}%`]));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
