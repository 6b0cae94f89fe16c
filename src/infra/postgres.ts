// A throwaway PostgreSQL cluster: initdb + pg_ctl in a fresh temp dir, trust auth on 127.0.0.1 only,
// durability off (fsync etc.) because the data dies with the run anyway.
import { chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePostgres } from './install.ts';
import { adopt, prepareRun, type LocalService } from './launch.ts';
import { freePort, runOk, stopPid } from './proc.ts';

export interface LocalPostgres extends LocalService {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth, no password) */
  url: string;
  cold: boolean;
  /**
   * Stops the server (fast shutdown: every connection is cut), runs `whileDown`, then starts it again on the
   * same data directory and port — a database outage for tests of its clients.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export interface StartPostgresOptions {
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** initdb refuses to run as root: as root, every server command goes through `runuser -u postgres`. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<LocalPostgres> {
  const { binDir, cold } = await ensurePostgres();
  const runDir = await prepareRun('postgres', opts.log);
  // Outside the cache: the postgres user must own the data dir and traverse its parents, and the unix
  // socket path must stay under ~100 characters.
  const tmp = mkdtempSync(join(tmpdir(), 'pipedrive-cdc-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds();
    chownSync(tmp, uid, gid);
  }
  const data = join(tmp, 'data');
  const pgLog = join(tmp, 'postgres.log');
  const logFile = join(runDir, 'postgres.log');
  const port = await freePort();
  const keepLog = () => {
    try {
      copyFileSync(pgLog, logFile);
    } catch {
      /* never started */
    }
  };
  const serverOpts = `-p ${port} -k ${tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const timeoutS = String(Math.ceil((opts.readyTimeoutMs ?? 60_000) / 1000));
  const pgCtl = (args: string[]) => {
    const [c, a] = asPostgres(join(binDir, 'pg_ctl'), ['-D', data, ...args]);
    return runOk(c, a, { cwd: tmp });
  };
  // -w: pg_ctl returns only once the server accepts connections, which is our readiness check.
  const startServer = () => pgCtl(['-l', pgLog, '-w', '-t', timeoutS, '-o', serverOpts, 'start']);
  try {
    const [c1, a1] = asPostgres(join(binDir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    await runOk(c1, a1, { cwd: tmp });
    await startServer();
  } catch (e) {
    keepLog();
    await stopStray(data);
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for every client to disconnect.
  const adoptServer = () =>
    adopt({ service: 'postgres', pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]), runDir, logFile, marker: data, signal: 'SIGINT', dirs: [tmp], afterStop: keepLog });
  let current = adoptServer();
  // A restarted server has a new PID, so a new pidfile; the earlier ones are cleared by stop() after it.
  const earlier: LocalService[] = [];
  return {
    get pid() {
      return current.pid;
    },
    runDir,
    logFile,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    cold,
    async stop() {
      await current.stop();
      for (const s of earlier) await s.stop();
    },
    async restart(whileDown) {
      await pgCtl(['-w', '-t', timeoutS, '-m', 'fast', 'stop']);
      earlier.push(current);
      try {
        await whileDown?.();
      } finally {
        await startServer();
        current = adoptServer();
      }
    },
  };
}

/** pg_ctl may have started a postmaster before it gave up waiting; do not leave it behind. */
async function stopStray(data: string): Promise<void> {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) await stopPid(pid, { signal: 'SIGINT', timeoutMs: 5000 });
  } catch {
    /* no postmaster */
  }
}
