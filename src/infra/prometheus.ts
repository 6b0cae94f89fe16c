// Debian's Prometheus binary scraping the given host:port targets every second, with its TSDB in the run dir.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrometheus } from './install.ts';
import { launchReady, prepareRun, type LocalService } from './launch.ts';
import { freePort, httpOk, waitReady } from './proc.ts';

export interface LocalPrometheus extends LocalService {
  /** http://127.0.0.1:PORT (query with /api/v1/query) */
  url: string;
  cold: boolean;
}

export interface StartPrometheusOptions {
  /** Scrape targets as host:port, each serving /metrics. */
  targets: string[];
  /** job label of the scraped series (default 'pipedrive-cdc'). */
  job?: string;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** 1 s scrape and evaluation, so a test sees fresh samples (and rate() over a few seconds) quickly. */
export function prometheusConfig(targets: string[], job = 'pipedrive-cdc'): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n');
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<LocalPrometheus> {
  const { bin, cold } = await ensurePrometheus();
  const runDir = await prepareRun('prometheus', opts.log);
  const config = join(runDir, 'prometheus.yml');
  writeFileSync(config, prometheusConfig(opts.targets, opts.job));
  const data = join(runDir, 'data');
  mkdirSync(data);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const svc = await launchReady({
    service: 'prometheus',
    runDir,
    cmd: bin,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // lets a test that needs other targets rewrite the file and POST /-/reload instead of restarting
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    marker: config,
    dirs: [data],
    ready: (pid, logFile) => waitReady('Prometheus', () => httpOk(`${url}/-/ready`), { timeoutMs: opts.readyTimeoutMs ?? 30_000, pid, logFile, intervalMs: 100 }),
  });
  return Object.assign(svc, { url, cold });
}
