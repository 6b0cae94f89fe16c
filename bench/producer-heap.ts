/**
 * Benchmark (not a test): what the producer's heap growing factor (src/observe/heap.ts) costs and saves.
 * One local Pipedrive per size; then, alternating, `pipedrive-cdc run --once` (the compiled package,
 * `TABLES=deal`, `HISTORY_REBUILD=off`, `STATE_DIR=off`) with each set of node flags: the product's default
 * (no flags), and V8's own sizing (`--heap-growing-percent=0`, the baseline) or any other given. Prints each
 * run's peak RSS (VmHWM), wall time and CPU time (user + system, from /proc): CPU is what to compare on a
 * shared machine, wall time moves with the load.
 *   node --import tsx bench/producer-heap.ts [sizes=10000,200000] [variants="|--heap-growing-percent=0"] [reps=2]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { startServices } from '../src/infra/services.ts';
import { repo, runCli, watchCli } from '../test/integration/support/harness.ts';

const sizes = (process.argv[2] ?? '10000,200000').split(',').map(Number);
const variants = (process.argv[3] ?? '|--heap-growing-percent=0').split('|').map((v) => v.split(' ').filter(Boolean));
const reps = Number(process.argv[4] ?? 2);
const services = await startServices({ kafka: true, registry: true });
execFileSync(process.execPath, [resolve(repo, 'scripts/build.mjs')], { cwd: repo, stdio: 'ignore' });

/** Peak RSS in MiB and CPU seconds so far of a running process (undefined once it is gone). */
function sample(pid: number): { hwm: number; cpu: number } | undefined {
  try {
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpu = (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
    return Number.isFinite(hwm) && Number.isFinite(cpu) ? { hwm, cpu } : undefined; // a zombie has no VmHWM
  } catch {
    return undefined;
  }
}

console.log(`load before ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| deals | node flags | peak RSS | wall | CPU |\n|---|---|---|---|---|');
for (const n of sizes) {
  const sim = runCli(['sim', '--port', '0', '--seed', '21', '--deals', String(n), '--daily-budget', '1000000000000', '--burst', '1000000'], {});
  let url: string | undefined;
  let token: string | undefined;
  for (const deadline = Date.now() + 900_000; !(url && token && sim.lines.some((l) => /Seeded/.test(l))); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > deadline) throw new Error(`the local Pipedrive did not start: ${sim.lines.join('\n')}`);
    const text = sim.lines.join('\n');
    url = /listening on (http:\/\/\S+) /.exec(text)?.[1];
    token = /API token: (\S+)/.exec(text)?.[1];
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const flags of variants) {
      const prefix = `heap${n}-${Date.now().toString(36)}`;
      const env = {
        ...process.env, NODE_OPTIONS: '', PIPEDRIVE_API_TOKEN: token!, PIPEDRIVE_BASE_URL: url!, KAFKA_BROKERS: services.kafkaBrokers.join(','),
        SCHEMA_REGISTRY_URL: services.schemaRegistryUrl, TOPIC_PREFIX: prefix, CONNECTOR_NAME: prefix, TABLES: 'deal', HISTORY_REBUILD: 'off', METRICS_PORT: '0', STATE_DIR: 'off',
      };
      const t0 = performance.now();
      const run = watchCli(spawn(process.execPath, [...flags, resolve(repo, 'dist/cli.js'), 'run', '--once'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }));
      let last = { hwm: 0, cpu: 0 };
      const watch = setInterval(() => (last = sample(run.child.pid!) ?? last), 100);
      const code = await run.exit;
      clearInterval(watch);
      if (code !== 0) throw new Error(`run --once exited ${code}:\n${run.lines.slice(-20).join('\n')}`);
      console.log(`| ${n.toLocaleString('en')} | ${flags.join(' ') || '(product default)'} | ${last.hwm.toFixed(0)} MiB | ${((performance.now() - t0) / 1000).toFixed(1)} s | ${last.cpu.toFixed(1)} s |`);
    }
  }
  sim.child.kill('SIGTERM');
  await sim.exit;
}
console.log(`load after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await services.stop();
