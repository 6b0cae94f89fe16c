/**
 * One sync of the local Pipedrive's deals through whatever Kafka and registry settings a test gives, as an
 * operator runs it: `pipedrive-cdc run --once`, then `pipedrive-cdc sink` into a DuckDB file until its lag
 * is 0, then SIGTERM. Both processes' /metrics are scraped while they run, so a test can check every log
 * line and every metric for secrets.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import { deal } from '../../../src/catalog/tables/deal.ts';
import type { Simulator } from '../../../src/simulator/server.ts';
import { canonicalRows } from './compare.ts';
import { parseJsonLine, runCli, type CliRun } from './harness.ts';
import { listAllDeals } from './pipedrive.ts';

export interface SecuredSync {
  producer: CliRun;
  sink: CliRun;
  /** Every /metrics text scraped from either process. */
  metrics: string[];
  duckPath: string;
}

/** The `metrics` line's URL once the process printed it. */
async function metricsUrl(run: CliRun): Promise<string> {
  return String((await run.waitForLine((l) => l.event === 'metrics', 60_000)).url);
}

/** Scrapes `url` every 100 ms until `until` settles, keeping each text. */
async function scrapeWhile(url: string, until: Promise<unknown>, into: string[]): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const text = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.text())
      .catch(() => undefined);
    if (text) into.push(text);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sum of the sink's lag gauge over the topic's partitions, undefined until every one is reported. */
function lagOf(text: string, topic: string, partitions: number): number | undefined {
  const values = [...text.matchAll(/^pipedrive_cdc_sink_lag_records\{([^}]*)\} (\S+)$/gm)].filter((m) => m[1]!.includes(`topic="${topic}"`)).map((m) => Number(m[2]));
  return values.length < partitions ? undefined : values.reduce((a, b) => a + b, 0);
}

export async function syncDeals(env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<SecuredSync> {
  const duckPath = env.DUCKDB_PATH ?? join(mkdtempSync(join(tmpdir(), 'pcdc-secured-')), 'sink.duckdb');
  const all: Record<string, string> = { TABLES: 'deal', HISTORY_REBUILD: 'off', TOPIC_PARTITIONS: '2', METRICS_PORT: '0', SINK_METRICS_PORT: '0', ...env, DUCKDB_PATH: duckPath };
  const metrics: string[] = [];

  const producer = runCli(['run', '--once'], all);
  const scraped = metricsUrl(producer).then((url) => scrapeWhile(url, producer.exit, metrics));
  const code = await producer.exit;
  await scraped.catch(() => undefined);
  expect(code, `run --once\n${producer.lines.slice(-15).join('\n')}`).toBe(0);

  const sink = runCli(['sink'], all);
  const url = await metricsUrl(sink);
  const topic = `${all.TOPIC_PREFIX!}.deal`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    const text = await fetch(url).then((r) => r.text());
    metrics.push(text);
    if (lagOf(text, topic, Number(all.TOPIC_PARTITIONS)) === 0) break;
    if (sink.child.exitCode !== null) throw new Error(`the sink exited (${sink.child.exitCode}):\n${sink.lines.slice(-15).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`the sink did not catch up with ${topic}:\n${sink.lines.slice(-15).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  sink.child.kill('SIGTERM');
  expect(await sink.exit, sink.lines.slice(-15).join('\n')).toBe(0);
  return { producer, sink, metrics, duckPath };
}

/** The DuckDB sink's deal table equals the local Pipedrive's deals, field by field. */
export async function expectDealsLikeSource(sim: Simulator, duckPath: string): Promise<void> {
  const source = canonicalRows(deal, await listAllDeals(sim.baseUrl, sim.token));
  const instance = await DuckDBInstance.create(duckPath);
  const conn = await instance.connect();
  try {
    const rows = (await conn.runAndReadAll('SELECT * FROM deal ORDER BY id')).getRowObjectsJS() as Array<Record<string, unknown>>;
    expect(rows.length).toBe(source.size);
    expect(canonicalRows(deal, rows)).toEqual(source);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** A process that must stop on its own with exit 1: its exit code, output and how long it ran after its `starting` line. */
export async function expectFailure(run: CliRun): Promise<{ output: string; ms: number }> {
  await run.waitForLine((l) => l.event === 'starting', 60_000);
  const t0 = Date.now();
  const code = await Promise.race([run.exit, new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
  const ms = Date.now() - t0;
  if (code !== 1) run.child.kill('SIGKILL');
  const output = run.lines.join('\n');
  expect(code, output.slice(-3000)).toBe(1);
  expect(run.lines.map(parseJsonLine).some((l) => l?.event === 'batch-committed' || l?.event === 'batch-applied'), 'nothing was written').toBe(false);
  return { output, ms };
}
