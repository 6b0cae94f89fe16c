import { spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync } from 'node:fs';
import { removePidfile, writePidfile } from '../../../src/infra/pidfiles.ts';
import { stopPid } from '../../../src/infra/proc.ts';

export interface Respawned {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Kills a server process (SIGKILL: a crash) and starts the same command again — same arguments,
 * environment and working directory, so the same config, data directory and ports — after `whileDown`:
 * an outage for tests of its clients. The new process gets a pidfile, so a crashed test run's orphan sweep
 * (src/infra/pidfiles.ts) ends it too.
 */
export async function respawn(pid: number, opts: { logFile: string; runDir: string; whileDown?: () => Promise<void> }): Promise<Respawned> {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  await stopPid(pid, { signal: 'SIGKILL' });
  await opts.whileDown?.();
  const log = openSync(opts.logFile, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`could not start ${argv[0]} again`);
  const rec = { service: 'respawned', pid: child.pid, owner: process.pid, marker: argv.at(-1)!, signal: 'SIGTERM' as const, runDir: opts.runDir, dirs: [] };
  writePidfile(rec);
  return {
    pid: child.pid,
    async stop() {
      await stopPid(rec.pid, { signal: 'SIGTERM' });
      removePidfile(rec);
    },
  };
}
