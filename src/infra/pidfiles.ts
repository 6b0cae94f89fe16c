// Pidfiles under <cache>/pids: a crashed run (killed vitest, Ctrl-C'd demo) leaves its Kafka/registry/
// PostgreSQL/Prometheus running; the next start finds them here and ends them, so ports and memory come back.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';
import { cmdline, isAlive, stopPid } from './proc.ts';

export interface PidRecord {
  service: string;
  pid: number;
  /** The Node process that started it; while it lives the service is not an orphan (another run may be using it). */
  owner: number;
  /** A string that must appear in the process's command line, so a recycled PID is never killed. */
  marker: string;
  /** Signal that shuts the service down cleanly (PostgreSQL: SIGINT = fast shutdown). */
  signal: NodeJS.Signals;
  /** Its run dir (logs): kept, and protected from pruning while the owner lives. */
  runDir: string;
  /** Temp/data dirs to delete once the process is gone. */
  dirs: string[];
}

function pidDir(): string {
  const dir = join(cacheDir(), 'pids');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const fileOf = (rec: Pick<PidRecord, 'service' | 'pid'>) => join(pidDir(), `${rec.service}-${rec.pid}.json`);

export function writePidfile(rec: PidRecord): void {
  writeFileSync(fileOf(rec), JSON.stringify(rec, null, 2));
}

export function removePidfile(rec: Pick<PidRecord, 'service' | 'pid'>): void {
  rmSync(fileOf(rec), { force: true });
}

function readAll(): PidRecord[] {
  const out: PidRecord[] = [];
  for (const name of readdirSync(pidDir())) {
    if (!name.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(pidDir(), name), 'utf8')) as PidRecord);
    } catch {
      rmSync(join(pidDir(), name), { force: true });
    }
  }
  return out;
}

/** Run dirs still owned by live runs, so run-dir pruning leaves them alone. */
export function liveRunDirs(): Set<string> {
  return new Set(readAll().filter((r) => isAlive(r.owner)).map((r) => r.runDir));
}

let sweeping: Promise<void> | undefined;

/**
 * Ends every recorded service whose owner process is gone, deletes its temp dirs and its pidfile.
 * Services started in parallel share one sweep.
 */
export function killOrphans(log: (msg: string) => void = () => {}): Promise<void> {
  return (sweeping ??= sweep(log).finally(() => (sweeping = undefined)));
}

async function sweep(log: (msg: string) => void): Promise<void> {
  const orphans = readAll().filter((r) => r.owner !== process.pid && !isAlive(r.owner));
  await Promise.all(
    orphans.map(async (r) => {
      if (isAlive(r.pid) && cmdline(r.pid).includes(r.marker)) {
        log(`killing orphaned ${r.service} (pid ${r.pid}) left by dead run ${r.owner}`);
        await stopPid(r.pid, { signal: r.signal, timeoutMs: 5_000 });
      }
      for (const d of r.dirs) rmSync(d, { recursive: true, force: true });
      removePidfile(r);
    }),
  );
}
