import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadProducerConfig, loadSinkConfig } from '../src/config.ts';
import { DEFAULT_APICURIO_VERSION, DEFAULT_KAFKA_VERSION } from '../src/infra/install.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import { parseSimArgs } from '../src/simulator/cli.ts';

/**
 * docker-compose.yml cannot run here (no Docker daemon), so it is checked against the code instead: the
 * producer's and sink's environment is exactly what src/config.ts reads and loads without error, the
 * services they point at exist on the right ports, Prometheus scrapes the metrics ports they listen on,
 * and Grafana's mounts and provisioning point at files in this repository.
 */
const repo = resolve(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(repo, p), 'utf8');

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number>;
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
}
interface Compose {
  services: Record<string, Service>;
}

/** Compose's interpolation with an empty shell environment: `${X:-default}` / `${X-default}` → default, `${X}` → '', `$$` → `$`. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, _braced, def: string | undefined) =>
    m === '$$' ? '$' : (def ?? ''),
  );
}

function envOf(s: Service): Env {
  const raw = s.environment ?? {};
  const pairs: Array<[string, string]> = Array.isArray(raw)
    ? raw.map((e) => {
        const i = e.indexOf('=');
        return [e.slice(0, i), e.slice(i + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v)]));
}

/** Calls a loader with an env that records every key it reads. */
function keysRead<T>(load: (env: Env) => T, env: Env): { config: T; read: Set<string> } {
  const seen = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') seen.add(key);
      return Reflect.get(target, key) as unknown;
    },
  });
  return { config: load(proxy), read: seen };
}

function commandOf(s: Service): string[] {
  return typeof s.command === 'string' ? s.command.split(/\s+/) : (s.command ?? []);
}

function buildContext(s: Service): string | undefined {
  return typeof s.build === 'string' ? s.build : s.build?.context;
}

/** `host:container[/proto]` or `ip:host:container` → the container port. */
function containerPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => Number(String(p).split('/')[0]!.split(':').at(-1)));
}

/** Short volume syntax `./host:/container[:ro]` → [host, container]. */
function mounts(s: Service): Array<{ host: string; container: string }> {
  return (s.volumes ?? []).map((v) => {
    const [host, container] = v.split(':');
    return { host: host!, container: container! };
  });
}

const compose = parse(read('docker-compose.yml')) as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};
const configSource = read('src/config.ts');

describe('docker-compose.yml', () => {
  it('has every service of the stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['grafana', 'kafka', 'pipedrive-sim', 'postgres', 'producer', 'prometheus', 'schema-registry', 'sink'].sort(),
    );
  });

  for (const [name, loader] of [
    ['producer', loadProducerConfig],
    ['sink', loadSinkConfig],
  ] as const) {
    it(`${name}: every environment variable is one src/config.ts reads, and the config loads`, () => {
      const env = envOf(svc(name));
      expect(Object.keys(env).length).toBeGreaterThan(0);
      const { read: readKeys } = keysRead(loader as (env: Env) => unknown, env);
      for (const key of Object.keys(env)) {
        expect(readKeys.has(key), `${name}: ${key} is set but ${loader.name} never reads it`).toBe(true);
        expect(configSource.includes(`'${key}'`) || configSource.includes(`env.${key}`), `${name}: ${key} does not appear in src/config.ts`).toBe(true);
      }
    });
  }

  it('producer and sink share topic prefix, connector, Kafka and registry, which point at the compose services', () => {
    const p = loadProducerConfig(envOf(svc('producer')));
    const s = loadSinkConfig(envOf(svc('sink')));
    expect(s.topicPrefix).toBe(p.topicPrefix);
    expect(s.connectorName).toBe(p.connectorName);
    expect(s.kafkaBrokers).toEqual(p.kafkaBrokers);
    expect(s.schemaRegistryUrl).toBe(p.schemaRegistryUrl);

    // Kafka: the brokers are the listener the broker advertises inside the compose network.
    const kafkaEnv = envOf(svc('kafka'));
    const advertised = kafkaEnv.KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => l.replace(/^[A-Z_]+:\/\//, ''));
    for (const b of p.kafkaBrokers) expect(advertised, 'KAFKA_BROKERS is an advertised listener').toContain(b);
    expect(p.kafkaBrokers.map((b) => b.split(':')[0])).toEqual(['kafka']);
    for (const key of ['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR', 'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']) {
      expect(kafkaEnv[key], `${key} on a single node`).toBe('1');
    }
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(svc('kafka').image).toBe(`apache/kafka:${DEFAULT_KAFKA_VERSION}`);

    // Registry: Apicurio's Confluent-compatible API on its container port 8080.
    const reg = new URL(p.schemaRegistryUrl);
    expect(reg.host).toBe('schema-registry:8080');
    expect(reg.pathname).toBe('/apis/ccompat/v7');
    expect(svc('schema-registry').image).toBe(`apicurio/apicurio-registry:${DEFAULT_APICURIO_VERSION}`);
    expect(containerPorts(svc('schema-registry'))).toContain(8080);
  });

  it('the producer points at the simulator by default, with the token the simulator accepts', () => {
    const p = loadProducerConfig(envOf(svc('producer')));
    const sim = svc('pipedrive-sim');
    const [command, ...args] = commandOf(sim);
    expect(command).toBe('sim');
    const opts = parseSimArgs(args);
    expect(opts).not.toBeNull();
    expect(opts!.host).toBe('0.0.0.0');
    expect(opts!.deals).toBeGreaterThan(0);
    if (p.pipedrive.auth.kind !== 'api-token') throw new Error('the compose producer uses the simulator\'s API token');
    const url = new URL(p.pipedrive.auth.baseUrl);
    expect(url.hostname).toBe('pipedrive-sim');
    expect(Number(url.port)).toBe(opts!.port);
    expect(p.pipedrive.auth.apiToken).toBe(opts!.token);
    // Overridable for a real company (see the comment in docker-compose.yml).
    const raw = svc('producer').environment as Record<string, string>;
    expect(raw.PIPEDRIVE_BASE_URL).toMatch(/^\$\{PIPEDRIVE_BASE_URL:-/);
    expect(raw.PIPEDRIVE_API_TOKEN).toMatch(/^\$\{PIPEDRIVE_API_TOKEN:-/);
  });

  it('the sink writes to the postgres service with its credentials', () => {
    const s = loadSinkConfig(envOf(svc('sink')));
    expect(s.destination).toBe('postgres');
    const db = new URL(s.databaseUrl!);
    const pgEnv = envOf(svc('postgres'));
    expect(db.hostname).toBe('postgres');
    expect(Number(db.port || 5432)).toBe(5432);
    expect(decodeURIComponent(db.username)).toBe(pgEnv.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(db.pathname.slice(1)).toBe(pgEnv.POSTGRES_DB);
    expect(svc('postgres').image).toBe('postgres:15');
  });

  it('Prometheus scrapes the ports the producer and sink serve metrics on', () => {
    const p = loadProducerConfig(envOf(svc('producer')));
    const s = loadSinkConfig(envOf(svc('sink')));
    const mount = mounts(svc('prometheus')).find((m) => m.container === '/etc/prometheus/prometheus.yml');
    expect(mount?.host).toBe('./deploy/prometheus.yml');
    const prom = parse(read('deploy/prometheus.yml')) as {
      global: { scrape_interval: string };
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((sc) => sc.targets));
    expect(targets).toContain(`producer:${p.metricsPort}`);
    expect(targets).toContain(`sink:${s.metricsPort}`);
    for (const t of targets) expect(Object.keys(compose.services), `scrape target ${t}`).toContain(t.split(':')[0]);
    expect(containerPorts(svc('producer'))).toContain(p.metricsPort);
    expect(containerPorts(svc('sink'))).toContain(s.metricsPort);
    // $__rate_interval in the dashboards derives from the datasource's timeInterval: keep them equal.
    const ds = parse(read('grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ jsonData?: { timeInterval?: string } }> };
    expect(ds.datasources[0]!.jsonData?.timeInterval).toBe(prom.global.scrape_interval);
  });

  it('Grafana mounts existing folders and provisions the datasource and dashboards the JSON uses', () => {
    const g = svc('grafana');
    const ms = mounts(g);
    for (const m of ms) {
      const host = join(repo, m.host);
      expect(existsSync(host) && statSync(host).isDirectory(), `${m.host} is a folder`).toBe(true);
    }
    const provisioning = ms.find((m) => m.container === '/etc/grafana/provisioning');
    expect(provisioning?.host).toBe('./grafana/provisioning');
    const dashboards = ms.find((m) => m.container === '/var/lib/grafana/dashboards');
    expect(dashboards?.host).toBe('./grafana/dashboards');
    expect(envOf(g).GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(envOf(g).GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    const home = envOf(g).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(existsSync(join(repo, home.replace('/var/lib/grafana/dashboards', 'grafana/dashboards'))), home).toBe(true);

    const ds = parse(read('grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; type: string; url: string }> };
    expect(ds.datasources).toHaveLength(1);
    const [prom] = ds.datasources;
    expect(prom!.uid).toBe('prometheus');
    expect(prom!.type).toBe('prometheus');
    const promUrl = new URL(prom!.url);
    expect(Object.keys(compose.services)).toContain(promUrl.hostname);
    expect(Number(promUrl.port)).toBe(9090);

    const providers = parse(read('grafana/provisioning/dashboards/dashboards.yml')) as { providers: Array<{ type: string; options: { path: string } }> };
    expect(providers.providers.map((p) => [p.type, p.options.path])).toEqual([['file', '/var/lib/grafana/dashboards']]);

    const files = readdirSync(join(repo, 'grafana/dashboards')).filter((f) => f.endsWith('.json'));
    expect(files).toContain('pipedrive-cdc.json');
    for (const f of files) {
      const uids = new Set<string>();
      JSON.stringify(JSON.parse(read(`grafana/dashboards/${f}`)), (k, v: unknown) => {
        if (k === 'datasource' && v && typeof v === 'object' && (v as { type?: string }).type === 'prometheus') uids.add(String((v as { uid?: string }).uid));
        return v;
      });
      expect([...uids], `${f} datasource uids`).toEqual(['prometheus']);
    }
  });

  it('the dashboard only queries metrics src/observe/metrics.ts declares', async () => {
    const declared = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const dash = JSON.parse(read('grafana/dashboards/pipedrive-cdc.json')) as { panels: unknown[]; templating: { list: Array<{ definition?: string }> } };
    const exprs = [...collectExprs(dash.panels), ...dash.templating.list.map((v) => v.definition ?? '')];
    expect(exprs.length).toBeGreaterThan(10);
    for (const e of exprs) {
      for (const name of e.match(/pipedrive_cdc_[a-z0-9_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        expect(declared.has(name) || declared.has(base), `${name} in "${e}"`).toBe(true);
      }
    }
  });

  it('producer, sink and simulator run the image the Dockerfile builds (test/package/dockerfile.test.ts checks the image)', () => {
    expect(existsSync(join(repo, 'Dockerfile'))).toBe(true);
    const cli = read('src/cli.ts');
    for (const [name, command] of [
      ['producer', 'run'],
      ['sink', 'sink'],
      ['pipedrive-sim', 'sim'],
    ] as const) {
      expect(buildContext(svc(name)), `${name} builds the Dockerfile`).toBe('.');
      expect(svc(name).image, `${name} shares one image`).toBe('pipedrive-cdc:local');
      expect(commandOf(svc(name))[0], `${name} command`).toBe(command);
      expect(cli, `the CLI has a "${command}" command`).toContain(`case '${command}':`);
    }
    // The simulator's healthcheck runs `node -e` in the image: node is on the runtime image's PATH.
    expect(JSON.stringify(svc('pipedrive-sim'))).toContain('"node","-e"');
  });
});

/** Every `targets[].expr` of a dashboard: top-level panels, panels nested in (collapsed) rows, legacy rows[].panels. */
function collectExprs(panels: unknown[]): string[] {
  const out: string[] = [];
  for (const p of panels as Array<{ panels?: unknown[]; targets?: Array<{ expr?: string }> }>) {
    for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
    if (p.panels) out.push(...collectExprs(p.panels));
  }
  return out;
}
