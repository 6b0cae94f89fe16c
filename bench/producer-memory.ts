/**
 * Benchmark (not a test): the producer's memory over account size, and its restart time. For each size N
 * (deals): the local Pipedrive with N generated deals in a process of its own; `pipedrive-cdc run --once`
 * (the compiled package, dist/)
 * (`TABLES=deal`, `HISTORY_REBUILD=off`) as its own process, its peak RSS (VmHWM, read from /proc while it
 * runs); then `pipedrive-cdc run` started again on the same topics: the time from spawning it to the first
 * API request the local Pipedrive receives and to the first deals list it serves (the first poll), and its
 * RSS then — with the key index snapshot the first run left (STATE_DIR), and again with STATE_DIR=off (the
 * whole topic read, the baseline). Prints one line per size and the ratio of peak RSS at the largest size to the smallest.
 *   node --import tsx bench/producer-memory.ts [sizes=10000,1000000]
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { startServices } from '../src/infra/services.ts';
import { repo, runCli, watchCli, type CliRun } from '../test/integration/support/harness.ts';

const sizes = (process.argv[2] ?? '10000,1000000').split(',').map(Number);
const services = await startServices({ kafka: true, registry: true });
// The producer runs as users run it: the compiled package (dist/), not the TypeScript sources through tsx.
execFileSync(process.execPath, [resolve(repo, 'scripts/build.mjs')], { cwd: repo, stdio: 'ignore' });
const product = (args: string[], env: Record<string, string>): CliRun =>
  watchCli(spawn(process.execPath, [resolve(repo, 'dist/cli.js'), ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM), or undefined once the process is gone. */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

async function startSim(deals: number): Promise<{ run: CliRun; baseUrl: string; token: string }> {
  const run = runCli(['sim', '--port', '0', '--seed', '21', '--deals', String(deals), '--daily-budget', '1000000000000', '--burst', '1000000'], {});
  for (const deadline = Date.now() + 900_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const text = run.lines.join('\n');
    const url = /listening on (http:\/\/\S+) /.exec(text)?.[1];
    const token = /API token: (\S+)/.exec(text)?.[1];
    if (url && token && /Seeded/.test(text)) return { run, baseUrl: url, token };
  }
  throw new Error(`the local Pipedrive did not start: ${run.lines.join('\n')}`);
}

async function requests(baseUrl: string): Promise<{ total: number; deals: number }> {
  const { data: body } = (await (await fetch(`${baseUrl}/_sim/requests`)).json()) as { data: { total: number; byOperation: Record<string, number> } };
  const deals = Object.entries(body.byOperation)
    .filter(([op]) => /^GET \/api\/v2\/deals$|getDeals$/.test(op))
    .reduce((n, [, c]) => n + c, 0);
  return { total: body.total, deals };
}

const rows: string[] = [];
const peaks: number[] = [];
for (const n of sizes) {
  const sim = await startSim(n);
  const prefix = `mem${n}-${Date.now().toString(36)}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-state-'));
  const env = {
    PIPEDRIVE_API_TOKEN: sim.token,
    PIPEDRIVE_BASE_URL: sim.baseUrl,
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    TABLES: 'deal',
    HISTORY_REBUILD: 'off',
    METRICS_PORT: '0',
    STATE_DIR: stateDir,
  };
  const t0 = performance.now();
  const sync = product(['run', '--once'], env);
  let peak = 0;
  const watch = setInterval(() => { const m = memoryOf(sync.child.pid!)?.hwm; if (m !== undefined && Number.isFinite(m)) peak = Math.max(peak, m); }, 100);
  const code = await sync.exit;
  clearInterval(watch);
  if (code !== 0) throw new Error(`run --once exited ${code}:\n${sync.lines.slice(-20).join('\n')}`);
  const syncS = (performance.now() - t0) / 1000;
  peaks.push(peak);

  /** `pipedrive-cdc run` again on the same topics: spawn → first API request, → first deals poll, RSS then. */
  const restart = async (extra: Record<string, string>) => {
    const before = await requests(sim.baseUrl);
    if (before.deals === 0) throw new Error(`the operation names of /_sim/requests did not match: ${JSON.stringify(await (await fetch(`${sim.baseUrl}/_sim/requests`)).json())}`);
    const t1 = performance.now();
    const again = product(['run'], { ...env, ...extra });
    let firstRequestMs: number | undefined;
    let firstPollMs: number | undefined;
    let rssAtPoll = 0;
    for (const deadline = Date.now() + 300_000; firstPollMs === undefined; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline || again.child.exitCode !== null) throw new Error(`no poll after the restart:\n${again.lines.slice(-20).join('\n')}`);
      const now = await requests(sim.baseUrl);
      const at = performance.now() - t1;
      if (firstRequestMs === undefined && now.total > before.total) firstRequestMs = at;
      if (now.deals > before.deals) {
        firstPollMs = at;
        rssAtPoll = memoryOf(again.child.pid!)?.rss ?? NaN;
      }
    }
    if (process.env.BENCH_VERBOSE) {
      const spawnedAt = Date.now() - (performance.now() - t1);
      for (const l of again.lines) {
        const m = /"ts":"([^"]+)".*?"event":"([^"]+)"(.*?"ms":(\d+))?/.exec(l);
        if (m) console.log(`  +${((Date.parse(m[1]!) - spawnedAt) / 1000).toFixed(2)} s ${m[2]}${m[4] ? ` (${m[4]} ms)` : ''}`);
      }
    }
    again.child.kill('SIGTERM');
    await again.exit;
    return { firstRequestMs: firstRequestMs!, firstPollMs, rssAtPoll };
  };
  // With the key index snapshot the first run wrote at its end, then without any (the whole topic read).
  const snap = await restart({ STATE_DIR: stateDir });
  const full = await restart({ STATE_DIR: 'off' });
  sim.run.child.kill('SIGTERM');
  await sim.run.exit;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  rows.push(
    `| ${n.toLocaleString('en')} | ${syncS.toFixed(0)} s | ${peak.toFixed(0)} MiB | ${s(snap.firstRequestMs)} | ${s(snap.firstPollMs)} | ${snap.rssAtPoll.toFixed(0)} MiB | ${s(full.firstPollMs)} | ${full.rssAtPoll.toFixed(0)} MiB |`,
  );
  console.log(rows.at(-1));
}
console.log(`\n${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| deals | first sync | peak RSS (VmHWM) | restart → first API request | restart → first deals poll | RSS at that poll | without snapshot: restart → first poll | RSS then |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`peak RSS ratio, ${sizes.at(-1)!.toLocaleString('en')} vs ${sizes[0]!.toLocaleString('en')} deals: ${(peaks.at(-1)! / peaks[0]!).toFixed(2)}×`);
await services.stop();
