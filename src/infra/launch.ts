// The lifecycle every local service shares: sweep orphans, make a run dir, spawn with a pidfile,
// and a stop() that kills by PID and removes the data dirs (logs stay in the run dir). Spawned services
// can also crash on purpose (kill), come back (restart) and hang (pause), for outage tests.
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { newRunDir } from './paths.ts';
import { killOrphans, liveRunDirs, removePidfile, writePidfile, type PidRecord } from './pidfiles.ts';
import { killPid, spawnLogged, stopPid } from './proc.ts';

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
      process.kill(r.pid, 'SIGCONT'); // a paused service would otherwise keep the signal pending, and live on
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

export type ServiceState = 'running' | 'paused' | 'killed' | 'stopped';

/** A service this process spawned, which a test can crash, bring back and freeze. */
export interface ControllableService extends LocalService {
  /** The current process (a new one after restart()). */
  readonly pid: number;
  readonly state: ServiceState;
  /**
   * SIGKILL, like a crash or an OOM kill: no shutdown, no flush. Data dirs, ports, config and the pidfile
   * stay, so restart() comes back with the same state (and stop() or the orphan sweep still cleans up).
   */
  kill(): Promise<void>;
  /** The same command line again (SIGKILLing a running one first); resolves once it answers. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the process keeps its sockets and the kernel still completes TCP handshakes into the listen
   * backlog, but nothing is ever answered — a hung service, which only client timeouts detect.
   */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

export interface LaunchOptions {
  service: string;
  runDir: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Must appear in the command line (see PidRecord.marker). */
  marker: string;
  signal?: NodeJS.Signals;
  dirs?: string[];
  /** Resolves once the process `pid` answers, throws when it died or timed out (naming `logFile`); used by launchReady and restart(). */
  ready?: (pid: number, logFile: string) => Promise<void>;
}

/** Spawns a server with its output in `<runDir>/<service>.log` and registers it (pidfile + exit hook). */
export function launch(o: LaunchOptions): ControllableService {
  const logFile = join(o.runDir, `${o.service}.log`);
  const signal = o.signal ?? 'SIGTERM';
  const dirs = o.dirs ?? [];
  const spawnOne = (): PidRecord => {
    const child = spawnLogged(o.cmd, o.args, logFile, { cwd: o.runDir, env: o.env });
    if (child.pid === undefined) throw new Error(`could not start ${o.cmd} for ${o.service}`);
    const r: PidRecord = { service: o.service, pid: child.pid, owner: process.pid, marker: o.marker, signal, runDir: o.runDir, dirs };
    writePidfile(r);
    running.set(r.pid, r);
    hookSignals();
    return r;
  };
  // The log is appended to across restarts; these lines say where one process ends and the next begins.
  const note = (what: string) => appendFileSync(logFile, `\n=== pipedrive-cdc test harness: ${what} at ${new Date().toISOString()} ===\n`);
  let rec = spawnOne();
  let state: ServiceState = 'running';
  // kill/restart/stop run one at a time, in call order: a stop() during a restart() waits for it.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };
  const assertUsable = (op: string) => {
    if (state === 'stopped') throw new Error(`${o.service}: ${op}() after stop(); start a new instance instead`);
  };

  const killNow = async () => {
    if (state === 'killed') return;
    // The pid leaves the exit hook's list first: once dead it may be recycled by an unrelated process.
    running.delete(rec.pid);
    await killPid(rec.pid, { group: true });
    state = 'killed';
    note(`killed (SIGKILL) pid ${rec.pid}`);
  };

  let stopping: Promise<void> | undefined;
  const svc: ControllableService = {
    get pid() {
      return rec.pid;
    },
    get state() {
      return state;
    },
    runDir: o.runDir,
    logFile,
    kill: () =>
      serial(async () => {
        assertUsable('kill');
        await killNow();
      }),
    async restart() {
      const pid = await serial(async () => {
        assertUsable('restart');
        await killNow();
        const old = rec;
        note('restarting the same command line');
        rec = spawnOne(); // the new pidfile is written before the old one goes: the sweep never loses the data dirs
        removePidfile(old);
        state = 'running';
        return rec.pid;
      });
      // Outside the queue, so a stop() need not wait out a slow start (the probe then fails at once: pid gone).
      await o.ready?.(pid, logFile);
    },
    pause() {
      assertUsable('pause');
      if (state === 'killed') throw new Error(`${o.service}: pause() while killed; restart() it first`);
      process.kill(rec.pid, 'SIGSTOP');
      state = 'paused';
    },
    resume() {
      if (state !== 'paused') return;
      process.kill(rec.pid, 'SIGCONT');
      state = 'running';
    },
    stop: () =>
      (stopping ??= serial(async () => {
        if (state !== 'killed') await stopPid(rec.pid, { signal });
        state = 'stopped';
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
        running.delete(rec.pid);
        removePidfile(rec);
      })),
  };
  return svc;
}

/** launch(), then waits for `o.ready`; a service that never gets ready is stopped and the error thrown. */
export async function launchReady(o: LaunchOptions & Required<Pick<LaunchOptions, 'ready'>>): Promise<ControllableService> {
  const svc = launch(o);
  try {
    await o.ready(svc.pid, svc.logFile);
  } catch (e) {
    await svc.stop();
    throw e;
  }
  return svc;
}
