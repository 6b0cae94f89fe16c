/**
 * Benchmark: the local Pipedrive on a 1,000,000-deal account. Not a test; loopback only; bounded.
 *
 *   node --expose-gc --import tsx bench/simulator.ts
 *   DEALS=100000 CONNECTIONS=8 DURATION_MS=3000 node --expose-gc --import tsx bench/simulator.ts
 *
 * Measures generator time and memory (RSS, heap) for the account, then requests per second for
 * 500-row pages (v2 deals by id, v2 deals by update_time since a date, v1 recents when served) from a
 * separate load process (bench/simulator-load.ts). Rate limits are in report-only mode (the default),
 * so nothing is refused: this measures the simulator, not the budget.
 */
import { fork } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SimClock } from '../src/simulator/clock.ts';
import { startSimulator } from '../src/simulator/server.ts';
import type { LoadJob, LoadResult } from './simulator-load.ts';

const DEALS = Number(process.env.DEALS ?? 1_000_000);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1_000);
const DURATION_MS = Number(process.env.DURATION_MS ?? 5_000);
const MAX_REQUESTS = Number(process.env.MAX_REQUESTS ?? 200_000);
const NOW = new Date('2026-01-15T12:00:00Z');

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): number => Math.round(bytes / 1048576);
function memory(): { rssMb: number; heapUsedMb: number; heapTotalMb: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal) };
}

/** Rows per store (a `table.size`, or one a level down), v1 stores included: what "the account" holds. */
function countEntities(stores: Record<string, unknown>, prefix = ''): Record<string, number> {
  const sizeOf = (o: unknown): number | undefined => {
    const size = (o as { table?: { size?: unknown } } | null)?.table?.size;
    return typeof size === 'number' ? size : undefined;
  };
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(stores)) {
    if (s === null || typeof s !== 'object') continue;
    if (name === 'v1') Object.assign(out, countEntities(s as Record<string, unknown>, 'v1.'));
    else if (name === 'journal') out['journal events'] = (s as { size: number }).size;
    const direct = sizeOf(s) ?? Object.values(s).map(sizeOf).find((n) => n !== undefined);
    if (direct !== undefined) out[prefix + name] = direct;
  }
  return out;
}

function load(job: LoadJob): Promise<LoadResult> {
  const child = fork(fileURLToPath(new URL('./simulator-load.ts', import.meta.url)), { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { result?: LoadResult; error?: string }) => (m.result ? resolve(m.result) : reject(new Error(m.error))));
    child.once('exit', (code) => code !== 0 && reject(new Error(`load process exited with ${code}`)));
    child.send(job);
  });
}

const before = memory();
const t0 = performance.now();
// Frozen clock: the account (and so every page) is the same on every run.
const sim = await startSimulator({ seed: 1, deals: DEALS, clock: new SimClock({ start: NOW, frozen: true }) });
const generatorSeconds = (performance.now() - t0) / 1000;
const afterSeed = memory();
const entities = countEntities(sim.store as unknown as Record<string, unknown>);

const headers = { 'x-api-token': sim.token };
const since45d = new Date(NOW.getTime() - 45 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sinceV1 = new Date(NOW.getTime() - 86_400_000).toISOString().replace('T', ' ').slice(0, 19);
const scenarios: { name: string; path: string }[] = [
  { name: 'v2 deals, first 500 by id', path: '/api/v2/deals?limit=500' },
  { name: 'v2 deals, 500 by update_time since 45 days ago', path: `/api/v2/deals?limit=500&sort_by=update_time&updated_since=${since45d}` },
  { name: 'v1 recents, 500 deal changes (last 24 h)', path: `/v1/recents?since_timestamp=${encodeURIComponent(sinceV1)}&items=deal&limit=500` },
];

const results: { name: string; path: string; firstMs: number; result?: LoadResult; skipped?: string }[] = [];
for (const s of scenarios) {
  const t = performance.now();
  const probe = await fetch(sim.baseUrl + s.path, { headers });
  const body = await probe.text();
  const firstMs = Math.round((performance.now() - t) * 10) / 10;
  if (probe.status !== 200) {
    results.push({ name: s.name, path: s.path, firstMs, skipped: `TODO: ${probe.status} ${body.slice(0, 80)} (route not served yet)` });
    continue;
  }
  const rows = (JSON.parse(body) as { data?: unknown[] }).data?.length ?? 0;
  process.stderr.write(`${s.name}: ${rows} rows, first request ${firstMs} ms; loading…\n`);
  const result = await load({ origin: sim.baseUrl, path: s.path, headers, connections: CONNECTIONS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, maxRequests: MAX_REQUESTS });
  results.push({ name: s.name, path: s.path, firstMs, result });
}
const afterLoad = memory();
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
await sim.close();

const report = {
  machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? '?', ramGb: Math.round(totalmem() / 1e9), node: process.version },
  deals: DEALS,
  entities,
  loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
  generator: { seconds: Math.round(generatorSeconds * 100) / 100, before, afterSeed, afterLoad, maxRssMb, gcExposed: gc !== undefined },
  load: { connections: CONNECTIONS, warmupMs: WARMUP_MS, durationMs: DURATION_MS },
  results,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
