// One entry point for the demo and the test harness: get Kafka, the schema registry, PostgreSQL and
// Prometheus from env vars (external), Docker (testcontainers), or local processes, in that order.
import { kafkaVersion, DEFAULT_APICURIO_VERSION } from './install.ts';
import { startKafka } from './kafka.ts';
import { startRegistry } from './registry.ts';
import { startPostgres } from './postgres.ts';
import { startPrometheus } from './prometheus.ts';
import { dockerAvailable, startKafkaDocker, startPostgresDocker, startPrometheusDocker, startRegistryDocker } from './docker.ts';

export type ServiceName = 'kafka' | 'registry' | 'postgres' | 'prometheus';
export type Mode = 'external' | 'docker' | 'local';

/** The env var that, when set, points a service at an existing instance (used as it is). */
export const ENV_VAR: Record<ServiceName, string> = {
  kafka: 'KAFKA_BROKERS',
  registry: 'SCHEMA_REGISTRY_URL',
  postgres: 'DATABASE_URL',
  prometheus: 'PROMETHEUS_URL',
};

export interface StartServicesOptions {
  /** default true */
  kafka?: boolean;
  /** default true */
  registry?: boolean;
  /** default false */
  postgres?: boolean;
  /** default false; host:port targets serving /metrics, scraped every second */
  prometheus?: { targets: string[]; job?: string } | false;
  log?: (msg: string) => void;
}

export interface ServiceTiming {
  service: ServiceName;
  mode: Mode;
  /** From asking for the service to it answering, including any download/extract. */
  ms: number;
  /** True when this start had to download or unpack something first. */
  cold: boolean;
}

export interface Services {
  /** [] when kafka was not asked for */
  kafkaBrokers: string[];
  /** Confluent-compatible base URL (Apicurio: ending in /apis/ccompat/v7); '' when registry was not asked for */
  schemaRegistryUrl: string;
  databaseUrl?: string;
  prometheusUrl?: string;
  mode: Partial<Record<ServiceName, Mode>>;
  timings: ServiceTiming[];
  /** Stops what this call started (never external services); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Decides where each wanted service comes from. Env var set → 'external'. Otherwise
 * PIPEDRIVE_CDC_INFRA=local → 'local' without touching Docker; =docker → 'docker' or an error when no
 * daemon answers; unset → 'docker' when a daemon answers, else 'local'. The probe runs at most once.
 */
export async function selectModes(
  wanted: ServiceName[],
  env: NodeJS.ProcessEnv = process.env,
  probeDocker: () => Promise<boolean> = () => dockerAvailable(),
): Promise<Partial<Record<ServiceName, Mode>>> {
  const infra = (env.PIPEDRIVE_CDC_INFRA ?? '').trim().toLowerCase();
  if (!['', 'auto', 'local', 'docker'].includes(infra)) {
    throw new Error(`PIPEDRIVE_CDC_INFRA must be local, docker or auto (or unset), not "${env.PIPEDRIVE_CDC_INFRA}"`);
  }
  const modes: Partial<Record<ServiceName, Mode>> = {};
  const rest = wanted.filter((s) => {
    if (env[ENV_VAR[s]]?.trim()) modes[s] = 'external';
    return modes[s] === undefined;
  });
  if (rest.length === 0) return modes;
  let mode: Mode = 'local';
  if (infra !== 'local') {
    const docker = await probeDocker();
    if (!docker && infra === 'docker') {
      throw new Error('PIPEDRIVE_CDC_INFRA=docker, but no Docker daemon answered (check DOCKER_HOST or the socket), needed for: ' + rest.join(', '));
    }
    mode = docker ? 'docker' : 'local';
  }
  for (const s of rest) modes[s] = mode;
  return modes;
}

interface Started {
  service: ServiceName;
  value: string | string[];
  cold: boolean;
  stop?: () => Promise<void>;
}

export async function startServices(opts: StartServicesOptions = {}): Promise<Services> {
  const log = opts.log ?? (() => {});
  const prom = opts.prometheus || undefined;
  const wanted = (['kafka', 'registry', 'postgres', 'prometheus'] as const).filter((s) =>
    s === 'prometheus' ? prom !== undefined : s === 'postgres' ? opts.postgres === true : opts[s] !== false,
  );
  const mode = await selectModes(wanted);
  const env = process.env;
  const kv = kafkaVersion();
  const av = env.APICURIO_VERSION || DEFAULT_APICURIO_VERSION;

  const launch = async (service: ServiceName, m: 'local' | 'docker'): Promise<Omit<Started, 'service'>> => {
    const local = m === 'local';
    const cold = (x: object) => 'cold' in x && x.cold === true;
    switch (service) {
      case 'kafka': {
        const k = local ? await startKafka({ version: kv, log }) : await startKafkaDocker(kv);
        return { value: k.brokers, cold: cold(k), stop: k.stop };
      }
      case 'registry': {
        const r = local ? await startRegistry({ version: av, log }) : await startRegistryDocker(av);
        return { value: r.url, cold: cold(r), stop: r.stop };
      }
      case 'postgres': {
        const p = local ? await startPostgres({ log }) : await startPostgresDocker();
        return { value: p.url, cold: cold(p), stop: p.stop };
      }
      case 'prometheus': {
        const p = local ? await startPrometheus({ targets: prom!.targets, job: prom!.job, log }) : await startPrometheusDocker(prom!.targets, prom!.job);
        return { value: p.url, cold: cold(p), stop: p.stop };
      }
    }
  };

  const timings: ServiceTiming[] = [];
  const startOne = async (service: ServiceName): Promise<Started> => {
    const m = mode[service]!;
    const t0 = Date.now();
    let s: Omit<Started, 'service'>;
    if (m === 'external') {
      const raw = env[ENV_VAR[service]]!.trim();
      s = { value: service === 'kafka' ? raw.split(',').map((b) => b.trim()).filter(Boolean) : raw, cold: false };
      log(`${service}: using ${ENV_VAR[service]} (external)`); // not its value: it may hold a password
    } else {
      const label = service === 'kafka' ? `kafka ${kv}` : service === 'registry' ? `registry (Apicurio ${av})` : service;
      log(`${label}: starting (${m})`);
      s = await launch(service, m);
    }
    const ms = Date.now() - t0;
    timings.push({ service, mode: m, ms, cold: s.cold });
    if (m !== 'external') log(`${service}: ready in ${(ms / 1000).toFixed(1)} s (${m}${s.cold ? ', cold: downloaded/unpacked first' : ''})`);
    return { service, ...s };
  };

  // Kafka and the registry are the slow JVMs; everything starts at once and the 2 cores are shared.
  const results = await Promise.allSettled(wanted.map(startOne));
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= Promise.all(ok.map((s) => s.stop?.())).then(() => {}));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await stop();
    if (failed.length === 1) throw failed[0];
    throw new Error(failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n'));
  }
  const value = (s: ServiceName) => ok.find((r) => r.service === s)?.value;
  return {
    kafkaBrokers: (value('kafka') as string[] | undefined) ?? [],
    schemaRegistryUrl: (value('registry') as string | undefined) ?? '',
    databaseUrl: value('postgres') as string | undefined,
    prometheusUrl: value('prometheus') as string | undefined,
    mode,
    timings,
    stop,
  };
}
