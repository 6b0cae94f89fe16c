// A Kafka Connect worker (standalone mode, file offset store) with Debezium's JDBC sink and Apicurio's
// Avro converter, all from Maven Central, for test/integration/kafka-connect.test.ts: the proof that a
// standard Connect sink reads this project's topics. Test infrastructure only: nothing in the producer or
// the sink imports it. Versions and settings are the ones docs/CONNECT.md documents.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installAtomically } from './atomic.ts';
import { DEFAULT_KAFKA_VERSION, MVN, mvn } from './install.ts';
import { ensureJava } from './java.ts';
import { launchReady, prepareRun, type LocalService } from './launch.ts';
import { cacheDir, repoRoot } from './paths.ts';
import { freePort, waitReady, which } from './proc.ts';
import { CCOMPAT_PATH } from './registry.ts';

/** The combination verified against this project's topics (docs/CONNECT.md). */
export const CONNECT_VERSIONS = { kafka: DEFAULT_KAFKA_VERSION, debezium: '3.5.0.Final', apicurio: '2.6.13.Final' } as const;

const POMS = join(repoRoot, 'test', 'infra', 'connect');

/**
 * Groups left out of the plugin folders: the worker's own Kafka classes and Jackson must be the ones loaded
 * (a plugin's older Jackson fails the task with "BlackbirdModule not a subtype"); the MySQL, SQL Server,
 * Oracle and MariaDB drivers Debezium depends on are never used here and only lengthen the plugin scan.
 */
const PLUGIN_EXCLUDES = {
  jdbc: 'org.apache.kafka,com.fasterxml.jackson.core,com.fasterxml.jackson.datatype,com.mysql,com.microsoft.sqlserver,com.oracle.database.jdbc,org.mariadb.jdbc',
  avro: 'org.apache.kafka',
};

export interface ConnectInstall {
  java: string;
  /** `<dir>/libs/*`: the worker's classpath. */
  classpath: string;
  /** The plugin.path: one folder per plugin (the JDBC sink, the Avro converter). */
  pluginPath: string;
  cold: boolean;
}

/** Resolves the worker and the two plugin folders into `<cache>/kafka-connect-<versions>` (once; Maven's ~/.m2 is reused). */
export async function ensureKafkaConnect(): Promise<ConnectInstall> {
  const v = CONNECT_VERSIONS;
  const dir = join(cacheDir(), `kafka-connect-${v.kafka}-debezium-${v.debezium}-apicurio-${v.apicurio}`);
  const markers = [
    join(dir, 'libs', `connect-runtime-${v.kafka}.jar`),
    join(dir, 'plugins', 'debezium-jdbc', `debezium-connector-jdbc-${v.debezium}.jar`),
    join(dir, 'plugins', 'apicurio-converter', `apicurio-registry-utils-converter-${v.apicurio}.jar`),
  ];
  const complete = () => markers.every((m) => existsSync(m));
  if (!complete() && !which(MVN.cmd)) {
    throw new Error(`Cannot install Kafka Connect ${v.kafka} and its plugins: missing mvn. Install ${MVN.install} (the jars come from Maven Central into ${dir}).`);
  }
  const java = await ensureJava(17, `Kafka Connect ${v.kafka}`, 'JAVA_HOME').catch((e: Error) => {
    throw new Error(`Cannot run a Kafka Connect worker: it needs Java 17+ (JAVA_HOME, PATH or /usr/lib/jvm), e.g. apt-get install -y openjdk-17-jre-headless. (${e.message})`);
  });
  const copy = (pom: string, out: string, extra: string[]) =>
    mvn(['-f', join(POMS, pom), ...extra, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${out}`]);
  const cold = await installAtomically(dir, complete, async (tmp) => {
    await copy('worker-pom.xml', join(tmp, 'libs'), [`-Dkafka.version=${v.kafka}`]);
    await copy('jdbc-sink-pom.xml', join(tmp, 'plugins', 'debezium-jdbc'), [`-Ddebezium.version=${v.debezium}`, `-DexcludeGroupIds=${PLUGIN_EXCLUDES.jdbc}`]);
    // Apicurio's parent POM names a repository besides Maven Central: the settings file mirrors all to Central.
    await copy('avro-converter-pom.xml', join(tmp, 'plugins', 'apicurio-converter'), ['-s', join(POMS, 'maven-settings.xml'), `-Dapicurio.version=${v.apicurio}`, `-DexcludeGroupIds=${PLUGIN_EXCLUDES.avro}`]);
  });
  return { java, classpath: `${join(dir, 'libs')}/*`, pluginPath: join(dir, 'plugins'), cold };
}

/** Apicurio's v2 API (what the 2.6 converter speaks) beside a registry's Confluent-compatible URL. */
export function apicurioV2Url(ccompatUrl: string): string {
  const base = ccompatUrl.replace(/\/+$/, '');
  if (!base.endsWith(CCOMPAT_PATH)) {
    throw new Error(`Kafka Connect's Avro converter needs an Apicurio registry: SCHEMA_REGISTRY_URL must end with ${CCOMPAT_PATH} (got ${ccompatUrl})`);
  }
  return `${base.slice(0, -CCOMPAT_PATH.length)}/apis/registry/v2`;
}

/**
 * The worker's settings, as docs/CONNECT.md gives them: read committed only (the topics are
 * transactional), from the earliest offset, and Apicurio's converter reading Confluent framing (a 4-byte
 * content id in the payload, no headers) through the registry's v2 API.
 */
export function connectWorkerProperties(o: { brokers: string[]; registryUrl: string; pluginPath: string; offsetsFile: string; restPort: number }): Record<string, string> {
  const converter: Record<string, string> = {
    'apicurio.registry.url': apicurioV2Url(o.registryUrl),
    'apicurio.registry.id-handler': 'io.apicurio.registry.serde.Legacy4ByteIdHandler',
    'apicurio.registry.use-id': 'contentId',
    'apicurio.registry.headers.enabled': 'false',
  };
  return {
    'bootstrap.servers': o.brokers.join(','),
    'plugin.path': o.pluginPath,
    'offset.storage.file.filename': o.offsetsFile,
    listeners: `http://127.0.0.1:${o.restPort}`,
    'consumer.isolation.level': 'read_committed',
    'consumer.auto.offset.reset': 'earliest',
    // Sink offsets are committed to the consumer group this often (default 60 s): a test waits for them.
    'offset.flush.interval.ms': '1000',
    'key.converter': 'io.apicurio.registry.utils.converter.AvroConverter',
    'value.converter': 'io.apicurio.registry.utils.converter.AvroConverter',
    ...Object.fromEntries(Object.entries(converter).flatMap(([k, val]) => [[`key.converter.${k}`, val], [`value.converter.${k}`, val]])),
  };
}

/** `key=value` lines (values here never need escaping: URLs, paths, class names, lists). */
export const propertiesText = (props: Record<string, string>) => `${Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;

export interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

export interface LocalConnect extends LocalService {
  restUrl: string;
  cold: boolean;
  /**
   * Creates (or reconfigures) a connector through the REST API and resolves once it and all its tasks are
   * RUNNING; throws with the task's stack trace when one FAILED.
   */
  createConnector(config: Record<string, string> & { name: string }, timeoutMs?: number): Promise<void>;
  status(name: string): Promise<ConnectorStatus>;
  /** The first FAILED part of a connector (its trace as the message), or undefined. */
  failure(name: string): Promise<Error | undefined>;
  /** A sink connector's committed offsets: topic → partition → next offset to read. */
  sinkOffsets(name: string): Promise<Map<string, Map<number, bigint>>>;
}

export interface StartConnectOptions {
  brokers: string[];
  /** The registry's Confluent-compatible URL (…/apis/ccompat/v7). */
  registryUrl: string;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** Small heap, C1 only: the worker is short-lived and the machines have 2 cores. */
const JVM_OPTS = ['-Xms128m', '-Xmx768m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', '-XX:+ExitOnOutOfMemoryError'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a standalone worker with no connector; resolves once its REST API answers. Connectors come later
 * through createConnector(), so the JVM's start can overlap whatever produces the topics they read.
 */
export async function startKafkaConnect(o: StartConnectOptions): Promise<LocalConnect> {
  const install = await ensureKafkaConnect();
  const runDir = await prepareRun('kafka-connect', o.log);
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir);
  const restPort = await freePort();
  const restUrl = `http://127.0.0.1:${restPort}`;
  const workerFile = join(runDir, 'connect-standalone.properties');
  writeFileSync(workerFile, propertiesText(connectWorkerProperties({ brokers: o.brokers, registryUrl: o.registryUrl, pluginPath: install.pluginPath, offsetsFile: join(dataDir, 'offsets'), restPort })));

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${restUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`Kafka Connect ${method} ${path}: ${res.status} ${(await res.text()).slice(0, 2000)}`);
    return (await res.json()) as T;
  };
  const connectorPath = (name: string) => `/connectors/${encodeURIComponent(name)}`;

  const svc = await launchReady({
    service: 'kafka-connect',
    runDir,
    cmd: install.java,
    args: [
      ...JVM_OPTS,
      `-Dlog4j2.configurationFile=file:${join(POMS, 'log4j2.properties')}`,
      '-cp', install.classpath,
      'org.apache.kafka.connect.cli.ConnectStandalone', workerFile,
    ],
    marker: workerFile,
    dirs: [dataDir],
    ready: (pid, logFile) =>
      waitReady('Kafka Connect worker', async () => Array.isArray(await call('GET', '/connectors')), { timeoutMs: o.readyTimeoutMs ?? 120_000, pid, logFile, intervalMs: 250 }),
  });

  const status = (name: string) => call<ConnectorStatus>('GET', `${connectorPath(name)}/status`);
  const failure = async (name: string) => {
    const s = await status(name);
    const failed = [s.connector, ...s.tasks].find((x) => x.state === 'FAILED');
    return failed ? new Error(`Kafka Connect connector ${name} FAILED (log: ${svc.logFile}):\n${(failed.trace ?? '').slice(0, 4000)}`) : undefined;
  };
  const createConnector = async (config: Record<string, string> & { name: string }, timeoutMs = 60_000) => {
    const { name, ...rest } = config;
    await call('PUT', `${connectorPath(name)}/config`, rest);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The status resource 404s for a moment after the PUT, until the connector is registered.
      const s = await status(name).catch(() => undefined);
      if (s) {
        const failed = await failure(name);
        if (failed) throw failed;
        if (s.connector.state === 'RUNNING' && s.tasks.length > 0 && s.tasks.every((t) => t.state === 'RUNNING')) return;
      }
      if (Date.now() > deadline) throw new Error(`Kafka Connect connector ${name} not RUNNING after ${timeoutMs} ms: ${JSON.stringify(s)} (log: ${svc.logFile})`);
      await sleep(200);
    }
  };
  const sinkOffsets = async (name: string) => {
    type Offsets = { offsets: Array<{ partition: { kafka_topic: string; kafka_partition: number }; offset: { kafka_offset: number } }> };
    const out = new Map<string, Map<number, bigint>>();
    for (const e of (await call<Offsets>('GET', `${connectorPath(name)}/offsets`)).offsets) {
      if (!out.has(e.partition.kafka_topic)) out.set(e.partition.kafka_topic, new Map());
      out.get(e.partition.kafka_topic)!.set(e.partition.kafka_partition, BigInt(e.offset.kafka_offset));
    }
    return out;
  };
  return Object.assign(svc, { restUrl, cold: install.cold, createConnector, status, failure, sinkOffsets });
}

/** `postgres://user:password@host:port/db` → the JDBC URL and credentials the JDBC sink takes. */
export function jdbcConnection(databaseUrl: string): { url: string; username: string; password: string } {
  const u = new URL(databaseUrl);
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new Error(`jdbcConnection: a postgres:// URL is needed (got ${u.protocol}//…)`);
  return { url: `jdbc:postgresql://${u.host}${u.pathname}`, username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/**
 * Debezium's JDBC sink into PostgreSQL schema `schema`, upserting by record key and deleting on tombstones
 * (docs/CONNECT.md): one table per topic of `tables`, named after the table (`<prefix>.deal` → `<schema>.deal`).
 */
export function debeziumJdbcSinkConfig(o: { name: string; topicPrefix: string; tables: string[]; databaseUrl: string; schema: string }): Record<string, string> & { name: string } {
  const db = jdbcConnection(o.databaseUrl);
  return {
    name: o.name,
    'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
    'tasks.max': '1',
    topics: o.tables.map((t) => `${o.topicPrefix}.${t}`).join(','),
    'connection.url': db.url,
    'connection.username': db.username,
    'connection.password': db.password,
    'insert.mode': 'upsert',
    'primary.key.mode': 'record_key',
    'delete.enabled': 'true',
    'schema.evolution': 'basic',
    'collection.name.format': `${o.schema}.\${topic}`,
    transforms: 'unprefix',
    'transforms.unprefix.type': 'org.apache.kafka.connect.transforms.RegexRouter',
    // \Q…\E: the prefix is matched literally, whatever characters it has.
    'transforms.unprefix.regex': `\\Q${o.topicPrefix}\\E\\.(.+)`,
    'transforms.unprefix.replacement': '$1',
  };
}
