/**
 * Load generator for bench/simulator.ts, run as a child process so the client's CPU and memory are
 * not the simulator's: autocannon-style, `connections` loops on an undici Pool, each sending the next
 * request as soon as the last answer's body is read. Bounded by duration and by request count.
 * Receives one job over IPC, answers with the measurements, exits.
 */
import { Pool } from 'undici';

export interface LoadJob {
  origin: string;
  path: string;
  headers: Record<string, string>;
  connections: number;
  warmupMs: number;
  durationMs: number;
  maxRequests: number;
}

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
  rps: number;
  mbPerSec: number;
  bytesPerResponse: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

async function run(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, { connections: job.connections, pipelining: 1 });
  const once = async (): Promise<{ ok: boolean; bytes: number }> => {
    const res = await pool.request({ method: 'GET', path: job.path, headers: job.headers });
    const body = await res.body.arrayBuffer();
    return { ok: res.statusCode >= 200 && res.statusCode < 300, bytes: body.byteLength };
  };

  // Warm-up: JIT, lazily built indexes, keep-alive sockets; not measured.
  const warmEnd = performance.now() + job.warmupMs;
  await Promise.all(Array.from({ length: job.connections }, async () => {
    while (performance.now() < warmEnd) await once().catch(() => undefined);
  }));

  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let bytes = 0;
  let issued = 0;
  const start = performance.now();
  const end = start + job.durationMs;
  await Promise.all(Array.from({ length: job.connections }, async () => {
    while (performance.now() < end && issued < job.maxRequests) {
      issued += 1;
      const t = performance.now();
      try {
        const r = await once();
        latencies.push(performance.now() - t);
        bytes += r.bytes;
        if (!r.ok) non2xx += 1;
      } catch {
        errors += 1;
      }
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  await pool.close();

  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0);
  return {
    requests: latencies.length,
    non2xx,
    errors,
    seconds: round(seconds),
    rps: round(latencies.length / seconds),
    mbPerSec: round(bytes / seconds / 1e6),
    bytesPerResponse: Math.round(bytes / Math.max(1, latencies.length)),
    latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: round(latencies[latencies.length - 1] ?? 0) },
  };
}

const round = (x: number): number => Math.round(x * 10) / 10;

process.once('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (err: unknown) => process.send?.({ error: String(err instanceof Error ? err.stack : err) }, () => process.exit(1)),
  );
});
