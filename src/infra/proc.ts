// Child-process helpers shared by the local services: free ports, logged spawns, kill-by-PID, waiting.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface RunResult {
  code: number;
  output: string;
}

/** Runs a command to completion, collecting stdout+stderr (for short tools: mvn, dpkg, initdb, pg_ctl). */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

/** Like run() but throws with the command's output when it fails. */
export async function runOk(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.output.slice(-4000)}`);
  return r.output;
}

/** The kernel's ephemeral port range (where connect() picks local ports), [32768, 60999] if unreadable. */
export function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    /* not Linux, or /proc not mounted */
  }
  return [32768, 60999];
}

/** Ports handed out by stablePort() in this process, so two services started at once never draw the same one. */
const handedOut = new Set<number>();

/**
 * A free 127.0.0.1 port BELOW the ephemeral range, for a service that is killed and must come back on the
 * same port. A port from the ephemeral range (freePort) can be taken, while the service is down, by any
 * outgoing connection's local end (a client retrying against this very port, say), and the restart would
 * then fail with "address in use". Ports below the range are only ever taken by explicit listeners.
 */
export async function stablePort(): Promise<number> {
  const [ephemeralLow] = ephemeralPortRange();
  const lo = 20_000;
  const hi = ephemeralLow - 1;
  if (hi - lo < 1000) {
    throw new Error(
      `stablePort: the ephemeral port range starts at ${ephemeralLow}, leaving no room for restartable services in ${lo}..${hi}; ` +
        'raise the start of net.ipv4.ip_local_port_range (sysctl) to 32768 or more',
    );
  }
  for (let i = 0; i < 100; i++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`stablePort: no free port found in ${lo}..${hi} after 100 tries; is something holding most of them?`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

/** A port the OS reports free on 127.0.0.1 right now (dynamic, so a demo and a test run can coexist). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePromise(port));
    });
  });
}

/**
 * Starts a long-running server with stdout+stderr going straight to `logFile` (no piping through Node,
 * so a chatty server cannot block on a full pipe). Detached into its own process group and unref'd:
 * the owner decides when it dies, via stop() or the pidfile-based orphan sweep.
 */
export function spawnLogged(cmd: string, args: string[], logFile: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
    child.unref();
    child.on('error', () => {
      /* reported through exitCode/pid checks by the caller */
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

/** True while `pid` exists and is not a zombie (a zombie still answers kill(pid, 0)). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

/** The NUL-separated command line of a process, joined by spaces ('' when gone or unreadable). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, waits up to `timeoutMs` for the process to go, then SIGKILLs it. */
export async function stopPid(pid: number, opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<void> {
  const { signal = 'SIGTERM', timeoutMs = 15_000 } = opts;
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
    // A paused (SIGSTOPped) service would hold the signal until the SIGKILL below: let it handle it now.
    if (signal !== 'SIGCONT') process.kill(pid, 'SIGCONT');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
}

/**
 * SIGKILL, as a crash would: no shutdown hooks, no flush. `group` kills the whole process group (a
 * detached spawn leads its own group, so helpers it forked die with it). Resolves once it is gone.
 */
export async function killPid(pid: number, opts: { group?: boolean; timeoutMs?: number } = {}): Promise<void> {
  try {
    process.kill(opts.group ? -pid : pid, 'SIGKILL');
  } catch {
    if (opts.group) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still alive ${opts.timeoutMs ?? 10_000} ms after SIGKILL (stuck in the kernel? see /proc/${pid}/stack)`);
    await sleep(20);
  }
}

/** Last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `probe` until it returns true. Fails early when the server process died, and on timeout;
 * either way the error carries the tail of the server's log.
 */
export async function waitReady(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; pid?: number; logFile?: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const logHint = () => (opts.logFile ? `\n--- ${opts.logFile} (tail) ---\n${tail(opts.logFile)}` : '');
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (opts.pid !== undefined && !isAlive(opts.pid)) throw new Error(`${what} exited before it became ready${logHint()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${opts.timeoutMs} ms${logHint()}`);
    await sleep(opts.intervalMs ?? 250);
  }
}

/** GET `url`; true on a 2xx answer within 2 s. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

/** Whether something accepts TCP connections on a loopback port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
