// The lifecycle every local service shares: sweep orphans, make a run dir, spawn with a pidfile,
// and a stop() that kills by PID and removes the data dirs (logs stay in the run dir).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { newRunDir } from './paths.ts';
import { killOrphans, liveRunDirs, removePidfile, writePidfile, type PidRecord } from './pidfiles.ts';
import { spawnLogged, stopPid } from './proc.ts';

export interface LocalService {
  pid: number;
  /** Holds the logs (kept after stop) and, while running, the config and data. */
  runDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Kills orphans of crashed runs (they hold memory and maybe ports), then makes this run's dir. */
export async function prepareRun(service: string, log?: (msg: string) => void): Promise<string> {
  await killOrphans(log);
  return newRunDir(service, liveRunDirs());
}

type Adopt = Omit<PidRecord, 'owner'> & { logFile: string; afterStop?: () => void };

const running = new Map<number, PidRecord>();

/** Sync only, so no waiting: the pidfiles stay, and the next run's orphan sweep finishes the job. */
function signalAll(): void {
  for (const r of running.values()) {
    try {
      process.kill(r.pid, r.signal);
    } catch {
      /* already gone */
    }
  }
}

// If the owner exits without calling stop() (an uncaught error, process.exit), ask the services to go too.
process.once('exit', signalAll);

// Ctrl-C / kill of an owner that has no handler of its own: Node would die without an 'exit' event, so
// pass the signal on to the services, then die of it as Node would have. An owner that handles the
// signal itself (the demo, vitest) is left to shut down in its own order and call stop().
let signalsHooked = false;
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      signalAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Registers an already-running server process (pidfile + exit hook) and builds its stop(). */
export function adopt(a: Adopt): LocalService {
  const rec: PidRecord = { service: a.service, pid: a.pid, owner: process.pid, marker: a.marker, signal: a.signal, runDir: a.runDir, dirs: a.dirs };
  writePidfile(rec);
  running.set(rec.pid, rec);
  hookSignals();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await stopPid(rec.pid, { signal: rec.signal });
      a.afterStop?.();
      for (const d of rec.dirs) rmSync(d, { recursive: true, force: true });
      running.delete(rec.pid);
      removePidfile(rec);
    })());
  return { pid: rec.pid, runDir: a.runDir, logFile: a.logFile, stop };
}

/** Spawns a server with its output in `<runDir>/<service>.log` and adopts it. */
export function launch(o: {
  service: string;
  runDir: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  marker: string;
  signal?: NodeJS.Signals;
  dirs?: string[];
}): LocalService {
  const logFile = join(o.runDir, `${o.service}.log`);
  const child = spawnLogged(o.cmd, o.args, logFile, { cwd: o.runDir, env: o.env });
  if (child.pid === undefined) throw new Error(`could not start ${o.cmd} for ${o.service}`);
  return adopt({ service: o.service, pid: child.pid, runDir: o.runDir, logFile, marker: o.marker, signal: o.signal ?? 'SIGTERM', dirs: o.dirs ?? [] });
}
