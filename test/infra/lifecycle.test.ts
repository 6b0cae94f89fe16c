// kill / restart / pause / resume / stop of src/infra/launch.ts on a tiny Node HTTP server (a stand-in for
// Kafka or the registry that starts in milliseconds), with the pidfiles in a throwaway cache dir.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchReady, prepareRun, type ControllableService } from '../../src/infra/launch.ts';
import { ephemeralPortRange, httpOk, isAlive, stablePort, waitReady } from '../../src/infra/proc.ts';

// Answers GET with its pid and the data file's lines; POST appends a line (its "committed data").
const SERVER = `
const fs = require('node:fs');
const [port, file] = process.argv.slice(1);
require('node:http').createServer((req, res) => {
  if (req.method === 'POST') fs.appendFileSync(file, 'row\\n');
  const rows = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\\n').filter(Boolean).length : 0;
  res.end(JSON.stringify({ pid: process.pid, rows }));
}).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const savedCache = process.env.PIPEDRIVE_CDC_CACHE;
const cache = mkdtempSync(join(tmpdir(), 'pcdc-lifecycle-'));
const pidfiles = () => readdirSync(join(cache, 'pids')).filter((f) => f.startsWith('toy-'));

async function startToy(): Promise<{ svc: ControllableService; url: string; dataDir: string }> {
  const runDir = await prepareRun('toy');
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir);
  const port = await stablePort();
  const url = `http://127.0.0.1:${port}/`;
  const svc = await launchReady({
    service: 'toy',
    runDir,
    cmd: process.execPath,
    args: ['-e', SERVER, String(port), join(dataDir, 'rows'), runDir],
    marker: runDir,
    dirs: [dataDir],
    ready: (pid, logFile) => waitReady('toy server', () => httpOk(url), { timeoutMs: 10_000, pid, logFile, intervalMs: 20 }),
  });
  return { svc, url, dataDir };
}

const get = async (url: string, timeoutMs = 2000) => (await (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).json()) as { pid: number; rows: number };

describe('restartable local services', () => {
  beforeAll(() => {
    process.env.PIPEDRIVE_CDC_CACHE = cache;
  });
  afterAll(() => {
    if (savedCache === undefined) delete process.env.PIPEDRIVE_CDC_CACHE;
    else process.env.PIPEDRIVE_CDC_CACHE = savedCache;
    rmSync(cache, { recursive: true, force: true });
  });

  it('stablePort gives free ports below the ephemeral range, never the same one twice', async () => {
    const [low] = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => stablePort()));
    for (const p of ports) expect(p).toBeLessThan(low);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('kill keeps data dir, port and pidfile; restart brings the same command line back with the data', async () => {
    const { svc, url, dataDir } = await startToy();
    try {
      await fetch(url, { method: 'POST' });
      const first = svc.pid;
      expect(await get(url)).toEqual({ pid: first, rows: 1 });

      await svc.kill();
      expect(svc.state).toBe('killed');
      expect(isAlive(first)).toBe(false);
      await expect(fetch(url)).rejects.toThrow(); // refused: nobody listens
      expect(existsSync(join(dataDir, 'rows'))).toBe(true);
      // The dead process's pidfile stays, so if this run died now the next run's sweep would still remove the data.
      expect(pidfiles()).toEqual([`toy-${first}.json`]);

      await svc.restart();
      expect(svc.state).toBe('running');
      expect(svc.pid).not.toBe(first);
      expect(await get(url)).toEqual({ pid: svc.pid, rows: 1 });
      expect(pidfiles()).toEqual([`toy-${svc.pid}.json`]);

      // restart() of a running service is a crash and a restart.
      const second = svc.pid;
      await svc.restart();
      expect(isAlive(second)).toBe(false);
      expect(await get(url)).toEqual({ pid: svc.pid, rows: 1 });
    } finally {
      await svc.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(pidfiles()).toEqual([]);
  });

  it('pause: connections are accepted but never answered; resume answers again', async () => {
    const { svc, url } = await startToy();
    try {
      svc.pause();
      expect(svc.state).toBe('paused');
      const port = Number(new URL(url).port);
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve()));
        s.on('error', reject);
      });
      await expect(get(url, 500)).rejects.toThrow(/aborted|timeout/i);
      svc.resume();
      expect((await get(url)).pid).toBe(svc.pid);
    } finally {
      await svc.stop();
    }
  });

  it('a paused service can be killed and restarted (a hung process that its supervisor replaces)', async () => {
    const { svc, url } = await startToy();
    try {
      const hung = svc.pid;
      svc.pause();
      await svc.kill();
      expect(isAlive(hung)).toBe(false);
      await svc.restart();
      expect(await get(url)).toEqual({ pid: svc.pid, rows: 0 });
    } finally {
      await svc.stop();
    }
  });

  it('stop of a paused service ends it at once (no 15 s wait for the SIGKILL fallback)', async () => {
    const { svc } = await startToy();
    const pid = svc.pid;
    svc.pause();
    const t0 = Date.now();
    await svc.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(isAlive(pid)).toBe(false);
    expect(svc.state).toBe('stopped');
  });

  it('stop of a killed service removes its data; kill/restart after stop fail naming the fix', async () => {
    const { svc, dataDir } = await startToy();
    await svc.kill();
    await svc.stop();
    expect(existsSync(dataDir)).toBe(false);
    expect(pidfiles()).toEqual([]);
    await expect(svc.restart()).rejects.toThrow(/restart\(\) after stop\(\); start a new instance/);
    expect(() => svc.pause()).toThrow(/after stop/);
  });
});
