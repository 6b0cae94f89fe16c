import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  });
});
