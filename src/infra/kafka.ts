// A single combined (broker+controller) KRaft Kafka node from the Maven Central jars: format the
// storage with StorageTool, then run kafka.Kafka. Same commands for the 3.9 and 4.x lines. kill() and
// restart() crash it and bring it back on the same ports, cluster id and data dir (see launch.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafka, kafkaVersion } from './install.ts';
import { scramFormatArgs, secureListenerProperties, secureListeners, type SecureListenerOptions, type SecurePorts } from './kafka-listeners.ts';
import { launchReady, prepareRun, type ControllableService } from './launch.ts';
import { runOk, stablePort, waitReady } from './proc.ts';

export interface LocalKafka extends ControllableService {
  brokers: string[];
  version: string;
  /** The KRaft cluster id it was formatted with; a restart keeps it (it lives in the data dir's meta.properties). */
  clusterId: string;
  /** log.dirs: topics, __consumer_offsets, __transaction_state and the metadata log. */
  dataDir: string;
  /** True when this start had to download the jars. */
  cold: boolean;
  /** host:port of the secured listeners asked for with `secure` (the PLAINTEXT `brokers` stay). */
  saslSslBrokers?: string[];
  mtlsBrokers?: string[];
}

export interface StartKafkaOptions {
  version?: string;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
  /** Listeners besides PLAINTEXT: SASL_SSL with SCRAM-SHA-512, and SSL requiring a client certificate. */
  secure?: SecureListenerOptions;
}

/** server.properties for one node; the single-partition internal topics and 0 ms rebalance delay keep the first group join and transaction fast. */
export function kafkaServerProperties(o: { brokerPort: number; controllerPort: number; dataDir: string; secure?: SecureListenerOptions; securePorts?: SecurePorts }): string {
  const extra = secureListeners(o.securePorts ?? {});
  const listeners = extra.map((l) => `,${l.name}://127.0.0.1:${l.port}`).join('');
  const protocols = extra.map((l) => `,${l.name}:${l.protocol}`).join('');
  return `process.roles=broker,controller
node.id=1
# static quorum: works on 3.9 and 4.x and needs no --standalone at format time
controller.quorum.voters=1@127.0.0.1:${o.controllerPort}
listeners=PLAINTEXT://127.0.0.1:${o.brokerPort},CONTROLLER://127.0.0.1:${o.controllerPort}${listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.brokerPort}${listeners}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${protocols}
${o.secure ? secureListenerProperties(o.secure, o.securePorts ?? {}) : ''}log.dirs=${o.dataDir}
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=1048577
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# After a crash the controller refuses the restarted broker's registration until the dead incarnation's
# session expires (default 9 s, heartbeats every 2 s); one local node needs no such slack.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
`;
}

/** Small heap, G1 with short pauses as in kafka-run-class.sh; 2 CPUs is all the machines have. */
const JVM_OPTS = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', '-XX:+ExitOnOutOfMemoryError'];

/** Ready = a kafkajs admin client gets a broker back from describeCluster. */
export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ clientId: 'pipedrive-cdc-infra', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    const { brokers: found } = await admin.describeCluster();
    return found.length > 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Makes the broker create and load __consumer_offsets and __transaction_state now, so the first
 * consumer group and the first transactional producer of a test or the demo do not spend their first
 * seconds on "coordinator is loading" retries (logged by kafkajs as errors).
 */
export async function warmUpKafka(brokers: string[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'pipedrive-cdc-infra-warmup', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  const id = `pipedrive-cdc-warmup-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, transactionalId: id, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await admin.describeGroups([id]); // finds (and so loads) the group coordinator
    await producer.connect(); // InitProducerId: finds (and so loads) the transaction coordinator
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<LocalKafka> {
  const version = opts.version ?? kafkaVersion();
  const install = await ensureKafka(version);
  const runDir = await prepareRun(`kafka-${version}`, opts.log);
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir);
  // Below the ephemeral range, so that while a test has the broker killed no client socket takes its port.
  const [brokerPort, controllerPort] = [await stablePort(), await stablePort()];
  const securePorts: SecurePorts = {
    ...(opts.secure?.scramUsers ? { saslSsl: await stablePort() } : {}),
    ...(opts.secure?.mtls ? { mtls: await stablePort() } : {}),
  };
  const props = join(runDir, 'server.properties');
  writeFileSync(props, kafkaServerProperties({ brokerPort, controllerPort, dataDir, secure: opts.secure, securePorts }));
  const cp = ['-cp', install.classpath];
  // A Kafka cluster id is 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints);
  // like Kafka's Uuid.randomUuid(), re-draw ids starting with '-', which the CLI would parse as an option.
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  // Formatted once: a restart runs kafka.Kafka on the formatted dir, as a crashed broker's supervisor would.
  await runOk(install.java, ['-Xmx256m', '-XX:TieredStopAtLevel=1', ...install.logArgs, ...cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scramFormatArgs(opts.secure?.scramUsers)]);
  const brokers = [`127.0.0.1:${brokerPort}`];
  const svc = await launchReady({
    service: 'kafka',
    runDir,
    cmd: install.java,
    args: [...JVM_OPTS, ...install.logArgs, ...cp, 'kafka.Kafka', props],
    marker: props,
    dirs: [dataDir],
    ready: async (pid, logFile) => {
      await waitReady(`Kafka ${version}`, () => kafkaAnswers(brokers), { timeoutMs: opts.readyTimeoutMs ?? 120_000, pid, logFile, intervalMs: 250 });
      await warmUpKafka(brokers);
    },
  });
  // Object.assign onto svc (not a spread) keeps its pid/state getters live across restarts.
  const at = (port: number | undefined) => (port === undefined ? undefined : [`127.0.0.1:${port}`]);
  return Object.assign(svc, { brokers, version, clusterId, dataDir, cold: install.cold, saslSslBrokers: at(securePorts.saslSsl), mtlsBrokers: at(securePorts.mtls) });
}
