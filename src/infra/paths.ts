// Where the local infrastructure keeps its downloads, pidfiles and per-run directories.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: src/infra/ is two levels below it. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Cache dir for jars, extracted tarballs, pidfiles and run dirs (`PIPEDRIVE_CDC_CACHE`, default `<repo>/.infra`). */
export function cacheDir(): string {
  const dir = resolve(process.env.PIPEDRIVE_CDC_CACHE || join(repoRoot, '.infra'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Kept run dirs per service: logs of the last few runs stay for post-mortems, older ones go. */
const KEEP_RUNS = 5;

/**
 * A fresh run dir `<cache>/runs/<service>-<time>-<pid>-<rand>` for one started service.
 * Its logs survive stop() (data dirs inside it do not), so a failed test run can still be read.
 */
export function newRunDir(service: string, protect: ReadonlySet<string> = new Set()): string {
  const runs = join(cacheDir(), 'runs');
  mkdirSync(runs, { recursive: true });
  pruneRuns(runs, service, protect);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const dir = join(runs, `${service}-${stamp}-${process.pid}-${randomBytes(2).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function pruneRuns(runs: string, service: string, protect: ReadonlySet<string>): void {
  const mtime = (p: string) => {
    try {
      return statSync(p).mtimeMs;
    } catch {
      return 0; // removed meanwhile by another run's prune
    }
  };
  const mine = readdirSync(runs)
    .filter((n) => n.startsWith(`${service}-`))
    .map((n) => join(runs, n))
    .filter((p) => !protect.has(p))
    .sort((a, b) => mtime(b) - mtime(a));
  for (const old of mine.slice(KEEP_RUNS - 1)) rmSync(old, { recursive: true, force: true });
}
