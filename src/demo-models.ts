// The demo's last step: the dbt models (dbt/, docs/MODELS.md) over the demo's DuckDB file, then the top
// rows of pipedrive__owner_performance. dbt comes from PyPI into the cache's venv; when it is missing the
// install starts with the demo, in the background, so it overlaps the services' start and the sync.
import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SinkConfig } from './config.ts';
import { DBT_PROJECT_DIR, dbtEnv, dbtInstalled, installDbtInBackground, runDbt } from './models-command.ts';

const HOW_TO = 'to get them: npm run models:install (Python 3 with venv), then npm run models';

/** Starts the dbt install when it is needed; the promise settles with an error message or undefined. */
export function prepareModels(): { installing: boolean; ready: Promise<string | undefined> } {
  if (!existsSync(DBT_PROJECT_DIR)) return { installing: false, ready: Promise.resolve(`the dbt project (${DBT_PROJECT_DIR}) is not in this installation; run the models from a checkout`) };
  if (dbtInstalled()) return { installing: false, ready: Promise.resolve(undefined) };
  return { installing: true, ready: installDbtInBackground().then(() => undefined, (e: Error) => e.message) };
}

export const OWNER_PERFORMANCE_TOP = `SELECT owner_name, strftime(month, '%Y-%m') AS month, currency, won_deals, won_value, lost_deals, win_rate
FROM pipedrive__owner_performance WHERE won_deals > 0 ORDER BY won_value DESC, owner_id, month, currency LIMIT 5`;

/** `dbt build` over the (stopped) sink's file, then the top rows of one model; never fails the demo. */
export async function showModels(config: SinkConfig, prepared: { installing: boolean; ready: Promise<string | undefined> }, say: (line: string) => void): Promise<void> {
  say('\n  Data models (dbt)');
  if (prepared.installing) say('    installing dbt from PyPI into the cache (once; started with the demo)…');
  const problem = await prepared.ready;
  if (problem) return say(`    skipped: ${problem}; ${HOW_TO}`);
  const started = Date.now();
  const child = runDbt(config, ['build'], { stdio: 'pipe' });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number>((r) => {
    child.on('error', () => r(-1));
    child.on('exit', (c) => r(c ?? -1));
  });
  const done = /Done\. (PASS=\d+ WARN=\d+ ERROR=\d+ SKIP=\d+)/.exec(output)?.[1];
  if (code !== 0) return say(`    dbt build failed (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}; ${HOW_TO}`);
  say(`    dbt build: ${done ?? 'done'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const instance = await DuckDBInstance.create(dbtEnv(config).DBT_DUCKDB_PATH!, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const rows = (await conn.runAndReadAll(OWNER_PERFORMANCE_TOP)).getRowObjectsJS() as Array<Record<string, unknown>>;
    say(`    pipedrive__owner_performance, top ${rows.length} by won value (${dbtEnv(config).DBT_DUCKDB_PATH}):`);
    const table = [['owner', 'month', 'currency', 'won', 'won value', 'lost', 'win rate'], ...rows.map((r) => [
      String(r.owner_name), String(r.month), String(r.currency), String(r.won_deals), Math.round(Number(r.won_value)).toLocaleString('en-US'), String(r.lost_deals),
      r.win_rate === null ? '-' : `${Math.round(Number(r.win_rate) * 100)}%`,
    ])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) say(`    | ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
