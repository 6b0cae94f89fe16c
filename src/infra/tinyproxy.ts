// An HTTP forward proxy for tests of Pipedrive calls through HTTPS_PROXY/HTTP_PROXY: Debian's tinyproxy
// binary (package tinyproxy-bin, libc only) unpacked with `dpkg -x` into `<cache>/tinyproxy-root`, like
// Prometheus — never `apt-get install`, whose package would start a system daemon. Every request line it
// forwards ends up in its log (LogLevel Connect), which is what the tests read.
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installAtomically, newTempDir } from './atomic.ts';
import { launch, prepareRun, type LocalService } from './launch.ts';
import { cacheDir } from './paths.ts';
import { accepts, freePort, run, runOk, waitReady, which } from './proc.ts';

export interface LocalTinyproxy extends LocalService {
  /** http://127.0.0.1:PORT, with `user:password@` when basic auth is on. */
  url: string;
  port: number;
  cold: boolean;
}

export interface StartTinyproxyOptions {
  /** Require Proxy-Authorization (the credentials then travel in the proxy URL, as users configure them). */
  basicAuth?: { user: string; password: string };
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

export async function ensureTinyproxy(): Promise<{ bin: string; cold: boolean }> {
  const dir = join(cacheDir(), 'tinyproxy-root');
  const bin = join(dir, 'usr', 'bin', 'tinyproxy');
  const complete = () => existsSync(bin);
  const missing = ['apt-get', 'dpkg'].filter((t) => !which(t));
  if (!complete() && missing.length > 0) {
    throw new Error(`Cannot fetch tinyproxy (the proxy tests start one): missing ${missing.join(', ')}; on Debian/Ubuntu they come with the system, elsewhere unpack Debian's tinyproxy-bin .deb into ${dir}`);
  }
  const cold = await installAtomically(dir, complete, async (tmp) => {
    await runOk('dpkg', ['-x', await tinyproxyDeb(), tmp]);
  });
  return { bin, cold };
}

/** A cached tinyproxy-bin_*.deb, downloaded (after an `apt-get update` if apt has no lists yet) when absent. */
async function tinyproxyDeb(): Promise<string> {
  const cached = () => readdirSync(cacheDir()).find((f) => /^tinyproxy-bin_.*\.deb$/.test(f));
  if (!cached()) {
    const dl = newTempDir();
    try {
      let r = await run('apt-get', ['download', 'tinyproxy-bin'], { cwd: dl });
      if (r.code !== 0) {
        const u = await run('apt-get', ['update', '-qq']);
        if (u.code !== 0) throw new Error(`apt-get update failed:\n${u.output.slice(-2000)}`);
        r = await run('apt-get', ['download', 'tinyproxy-bin'], { cwd: dl });
      }
      const got = readdirSync(dl).find((f) => f.endsWith('.deb'));
      if (r.code !== 0 || !got) throw new Error(`apt-get download tinyproxy-bin failed:\n${r.output.slice(-2000)}`);
      if (!cached()) renameSync(join(dl, got), join(cacheDir(), got));
    } finally {
      rmSync(dl, { recursive: true, force: true });
    }
  }
  return join(cacheDir(), cached()!);
}

export function tinyproxyConfig(port: number, basicAuth?: { user: string; password: string }): string {
  return [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    // Connect: one line per connection and per request line (`Request (file descriptor N): GET http://… HTTP/1.1`).
    'LogLevel Connect',
    'MaxClients 64',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(basicAuth ? [`BasicAuth ${basicAuth.user} ${basicAuth.password}`] : []),
    '',
  ].join('\n');
}

export async function startTinyproxy(opts: StartTinyproxyOptions = {}): Promise<LocalTinyproxy> {
  const { bin, cold } = await ensureTinyproxy();
  const runDir = await prepareRun('tinyproxy', opts.log);
  const config = join(runDir, 'tinyproxy.conf');
  const port = await freePort();
  writeFileSync(config, tinyproxyConfig(port, opts.basicAuth));
  // -d: stay in the foreground, logging to stdout (the run dir's log file).
  const svc = launch({ service: 'tinyproxy', runDir, cmd: bin, args: ['-d', '-c', config], marker: config });
  try {
    await waitReady('tinyproxy', () => accepts(port), { timeoutMs: opts.readyTimeoutMs ?? 10_000, pid: svc.pid, logFile: svc.logFile, intervalMs: 50 });
  } catch (e) {
    await svc.stop();
    throw e;
  }
  const auth = opts.basicAuth ? `${encodeURIComponent(opts.basicAuth.user)}:${encodeURIComponent(opts.basicAuth.password)}@` : '';
  return { ...svc, url: `http://${auth}127.0.0.1:${port}`, port, cold };
}
