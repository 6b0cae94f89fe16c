import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { startServices, type Services } from '../../src/infra/services.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics, type Metrics } from '../../src/observe/metrics.ts';
import { startMetricsServer } from '../../src/observe/server.ts';
import { startProducer, type ProducerRun } from '../../src/producer.ts';
import { startSink, type SinkRun } from '../../src/sink/sink.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, uniqueName } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

/**
 * Every panel query of grafana/dashboards/pipedrive-cdc.json against a real Prometheus that scraped a real
 * run: the local Pipedrive (50 deals, then creates, updates and deletes through its HTTP API) → the
 * producer → Kafka → the DuckDB sink, each process's registry served over HTTP and scraped every second.
 * Each expression (Grafana variables substituted) must answer `success` with at least one series holding a
 * number, instant and over a range; the alert rules in docs/OPERATIONS.md must parse and evaluate.
 */
const repo = resolve(import.meta.dirname, '../..');
const DASHBOARD = 'grafana/dashboards/pipedrive-cdc.json';
const JOB = 'pipedrive-cdc-dashboard';

/** Grafana's global variables, as they would be with a 1 s scrape interval and a 5 min time range. */
const GLOBALS: Record<string, string> = {
  __rate_interval: '15s',
  __interval_ms: '5000',
  __interval: '5s',
  __range_ms: '300000',
  __range_s: '300',
  __range: '5m',
};

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string; refId?: string }>;
}
interface Dashboard {
  panels: Panel[];
  rows?: Array<{ panels?: Panel[] }>;
  templating: { list: Array<{ name: string; type: string; definition?: string; query?: string | { query?: string } }> };
}
interface PanelQuery {
  panel: string;
  expr: string;
}

/** targets[].expr of every panel: top-level, nested in (collapsed) rows, and legacy rows[].panels. */
function panelQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: `${p.title ?? '?'} [${t.refId ?? '?'}]`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const r of d.rows ?? []) walk(r.panels);
  return out;
}

function substitute(expr: string, vars: Record<string, string>): string {
  let out = expr;
  // Longest names first, so $__range_ms is not read as $__range followed by "_ms".
  for (const name of Object.keys(vars).sort((a, b) => b.length - a.length)) {
    const v = vars[name]!;
    out = out
      .replaceAll(new RegExp(`\\$\\{${name}(?::[a-z]+)?\\}`, 'g'), v)
      .replaceAll(`[[${name}]]`, v)
      .replaceAll(new RegExp(`\\$${name}(?![A-Za-z0-9_])`, 'g'), v);
  }
  return out;
}

interface PromAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }> };
}

describe('Grafana dashboard: every panel query returns data from a real Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(join(repo, DASHBOARD), 'utf8')) as Dashboard;
  const prefix = uniqueName('dash');
  const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-dash-')), 'sink.duckdb');
  let sim: Simulator;
  let prom: Services;
  let promUrl = '';
  let producer: ProducerRun | undefined;
  let sink: SinkRun | undefined;
  let producerError: unknown;
  const servers: Array<{ url: string; close(): Promise<void> }> = [];
  const producerMetrics: Metrics = createMetrics('producer');
  const sinkMetrics: Metrics = createMetrics('sink');
  const deleted = new Set<number>();
  let changes: Promise<void> | undefined;
  let changing = false;
  let changeError: unknown;
  let changeCount = 0;
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  const env = () => ({
    ...pipelineEnv(sim, prefix),
    TABLES: 'deal',
    HISTORY_REBUILD: 'off',
    TOPIC_PARTITIONS: '2',
    POLL_INTERVAL_MS: '200',
    SINK_DESTINATION: 'duckdb',
    DUCKDB_PATH: duckPath,
  });

  async function query(expr: string): Promise<PromAnswer> {
    const res = await fetch(`${promUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as PromAnswer;
  }

  async function queryRange(expr: string, seconds: number): Promise<PromAnswer> {
    const end = Date.now() / 1000;
    const body = new URLSearchParams({ query: expr, start: String(end - seconds), end: String(end), step: '1' });
    const res = await fetch(`${promUrl}/api/v1/query_range`, { method: 'POST', body });
    return (await res.json()) as PromAnswer;
  }

  const finite = (v: string) => Number.isFinite(Number(v));
  /** success, ≥ 1 series, and at least one sample is a number (not NaN/Inf). */
  function judge(a: PromAnswer): string | null {
    if (a.status !== 'success') return `status ${a.status}: ${a.error ?? ''}`;
    const result = a.data?.result ?? [];
    if (result.length === 0) return 'empty result';
    const values = result.flatMap((r) => (r.value ? [r.value[1]] : (r.values ?? []).map((v) => v[1])));
    if (!values.some(finite)) return `no numeric sample (${values.slice(0, 3).join(', ')})`;
    return null;
  }

  async function changeDeal(i: number) {
    if (i % 10 === 3) {
      const created = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: `Dashboard deal ${i}`, value: 100 + i, currency: 'EUR' });
      expect(Number(created.id)).toBeGreaterThan(50);
    } else if (i % 10 === 7 && deleted.size < 25) {
      const id = 50 - deleted.size; // deletes from the top, updates stay within 1..20
      await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${id}`);
      deleted.add(id);
    } else {
      const id = 1 + (i % 20);
      await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${id}`, { title: `Updated ${i}`, value: 1000 + i });
    }
    changeCount++;
  }

  beforeAll(async () => {
    sim = await startSimulator({ seed: 11, deals: 50 });
    for (let i = 0; i < 10; i++) await changeDeal(i); // creates, updates and a delete before the first poll

    for (const m of [producerMetrics, sinkMetrics]) servers.push(await startMetricsServer(m, 0, '127.0.0.1'));
    const targets = servers.map((s) => new URL(s.url).host);

    // This test needs its own scrape targets, so an external PROMETHEUS_URL is not used here.
    const external = process.env.PROMETHEUS_URL;
    delete process.env.PROMETHEUS_URL;
    try {
      prom = await startServices({ kafka: false, registry: false, postgres: false, prometheus: { targets, job: JOB }, log: (m) => console.log(`[dashboard] ${m}`) });
    } finally {
      if (external !== undefined) process.env.PROMETHEUS_URL = external;
    }
    promUrl = prom.prometheusUrl!;
    console.log(`[dashboard] prometheus ${promUrl} (${prom.mode.prometheus}) scraping ${targets.join(', ')} at ${since()}`);

    // The snapshot and the first changes, until caught up; then keep polling while Prometheus scrapes.
    const once = startProducer(loadProducerConfig(env()), { metrics: producerMetrics, log: silentLogger, untilCaughtUp: true });
    await once.done;
    console.log(`[dashboard] producer caught up at ${since()}`);
    // With webhooks (the webhook panels): each change is also a hint that polls the deal table at once.
    const hookPort = await new Promise<number>((r) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => r(port));
      });
    });
    const hooks = { WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${hookPort}/pipedrive`, WEBHOOK_PORT: String(hookPort), WEBHOOK_PASSWORD: 'dashboard-webhook-secret-0123456789' };
    producer = startProducer(loadProducerConfig({ ...env(), ...hooks }), { metrics: producerMetrics, log: silentLogger });
    producer.done.catch((err: unknown) => (producerError = err));
    sink = await startSink(loadSinkConfig(env()), { metrics: sinkMetrics, log: silentLogger });
    await sink.caughtUp(60_000);
    console.log(`[dashboard] sink caught up at ${since()}`);

    // Changes keep flowing during the scrapes, so every rate() and quantile has fresh samples.
    changing = true;
    changes = (async () => {
      for (let i = 10; changing; i++) {
        await changeDeal(i);
        await new Promise((r) => setTimeout(r, 300));
      }
    })().catch((err: unknown) => void (changeError = err));
  });

  afterAll(async () => {
    changing = false;
    await changes;
    await producer?.stop();
    await sink?.stop();
    for (const s of servers) await s.close();
    await prom?.stop();
    await sim?.close();
  });

  it('every panel target (with $table = All and = each table) answers success with data', async () => {
    const queries = panelQueries(dashboard);
    expect(queries.length).toBeGreaterThanOrEqual(15);

    // Both targets up and scraped at least 3 times.
    const scraped = async () => {
      const a = await query(`count_over_time(up{job="${JOB}"}[5m]) and on (instance) (up{job="${JOB}"} == 1)`);
      const r = a.data?.result ?? [];
      return r.length === servers.length && r.every((s) => Number(s.value![1]) >= 3);
    };
    for (const deadline = Date.now() + 60_000; !(await scraped()); ) {
      if (Date.now() > deadline) throw new Error(`Prometheus did not scrape both targets 3 times: ${JSON.stringify(await query(`up{job="${JOB}"}`))}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`[dashboard] both targets scraped ≥ 3 times at ${since()}`);

    // Template variables: label_values(metric, label) the way Grafana asks Prometheus for them.
    const tables = new Set<string>();
    for (const v of dashboard.templating.list) {
      const q = v.definition ?? (typeof v.query === 'string' ? v.query : v.query?.query) ?? '';
      const m = /^label_values\((?:\s*([^,]+?)\s*,)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(q);
      expect(m, `variable ${v.name}: ${q}`).not.toBeNull();
      const params = new URLSearchParams(m![1] ? { 'match[]': m![1] } : {});
      const res = (await (await fetch(`${promUrl}/api/v1/label/${m![2]}/values?${params}`)).json()) as { status: string; data: string[] };
      expect(res.status).toBe('success');
      expect(res.data, `variable ${v.name} has values`).toContain('deal');
      if (v.name === 'table') for (const t of res.data) tables.add(t);
    }
    const variants: Array<Record<string, string>> = [
      Object.fromEntries(dashboard.templating.list.map((v) => [v.name, '.*'])),
      ...[...tables].map((t) => ({ table: t })),
    ];

    // Every expression × every variable choice; retried until all pass or the deadline (rates need 2 samples).
    const cases = queries.flatMap((q) => variants.map((vars) => ({ ...q, query: substitute(q.expr, { ...GLOBALS, ...vars }) })));
    let failures: string[] = [];
    let report: string[] = [];
    for (const deadline = Date.now() + 60_000; ; ) {
      failures = [];
      report = [];
      for (const c of cases) {
        expect(c.query, `${c.panel}: unsubstituted variable`).not.toMatch(/\$|\[\[/);
        const instant = await query(c.query);
        const range = await queryRange(c.query, 30);
        const bad = judge(instant) ?? (judge(range) ? `range: ${judge(range)}` : null);
        if (bad) failures.push(`${c.panel}: ${c.query} → ${bad}`);
        report.push(`${bad ? 'FAIL' : 'ok  '} ${String(instant.data?.result.length ?? 0).padStart(2)} series  ${c.panel}: ${c.query}`);
      }
      if (failures.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`[dashboard] ${cases.length} queries at ${since()} (${changeCount} changes made):\n${report.join('\n')}`);
    expect(producerError).toBeUndefined();
    expect(changeError).toBeUndefined();
    expect(failures).toEqual([]);
  });

  it('the alert rules in docs/OPERATIONS.md parse and evaluate against the same metrics', async () => {
    const doc = readFileSync(join(repo, 'docs/OPERATIONS.md'), 'utf8');
    const block = [...doc.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => /^groups:/m.test(b));
    expect(block, 'a ```yaml block with Prometheus rule groups').toBeDefined();
    const rules = (parse(block!) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(2);
    for (const r of rules) {
      const a = await query(r.expr);
      expect(a.status, `${r.alert}: ${r.expr} → ${a.error ?? ''}`).toBe('success');
      // The run is healthy: a rule that fires here has its threshold the wrong way round.
      expect(a.data!.result, `${r.alert} would fire on a healthy run`).toEqual([]);
    }
  });

  it('neither /metrics nor any scraped series carries the Pipedrive API token', async () => {
    for (const s of servers) {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      expect(text).toContain('pipedrive_cdc_');
      expect(text.includes(sim.token), `${s.url}/metrics contains the API token`).toBe(false);
    }
    const series = await (await fetch(`${promUrl}/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~"pipedrive_cdc_.+"}' })}`)).text();
    expect(series).toContain('pipedrive_cdc_records_total');
    expect(series.includes(sim.token)).toBe(false);
  });
});
