// The same four services as containers, for laptops with a Docker daemon. testcontainers is imported
// dynamically: it is a devDependency, and machines without a daemon never load it past the probe.
import { freePort, waitReady } from './proc.ts';
import { kafkaAnswers, warmUpKafka } from './kafka.ts';
import { CCOMPAT_PATH } from './registry.ts';
import { prometheusConfig } from './prometheus.ts';

type TC = typeof import('testcontainers');

export interface DockerService {
  stop(): Promise<void>;
}

async function tc(): Promise<TC> {
  return import('testcontainers');
}

/** True when a container runtime answers within `timeoutMs` (the docker CLI alone does not count). */
export async function dockerAvailable(timeoutMs = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await tc();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** apache/kafka image, one combined KRaft node. The host port is chosen up front and mapped 1:1 so the advertised listener is right before start. */
export async function startKafkaDocker(version: string): Promise<DockerService & { brokers: string[] }> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await tc();
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const port = await freePort();
  const c = await new GenericContainer(`apache/kafka:${version}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  const brokers = [`${host}:${port}`];
  await waitReady(`Kafka ${version} (docker)`, () => kafkaAnswers(brokers), { timeoutMs: 60_000, intervalMs: 500 });
  await warmUpKafka(brokers);
  return { brokers, stop: async () => void (await c.stop()) };
}

export async function startRegistryDocker(version: string): Promise<DockerService & { url: string }> {
  const { GenericContainer, Wait } = await tc();
  const c = await new GenericContainer(`apicurio/apicurio-registry:${version}`)
    .withExposedPorts(8080)
    .withEnvironment({
      APICURIO_REST_DELETION_GROUP_ENABLED: 'true',
      APICURIO_REST_DELETION_ARTIFACT_ENABLED: 'true',
      APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED: 'true',
    })
    .withWaitStrategy(Wait.forHttp(`${CCOMPAT_PATH}/subjects`, 8080))
    .withStartupTimeout(180_000)
    .start();
  return { url: `http://${c.getHost()}:${c.getMappedPort(8080)}${CCOMPAT_PATH}`, stop: async () => void (await c.stop()) };
}

export async function startPostgresDocker(): Promise<DockerService & { url: string }> {
  const { GenericContainer, Wait } = await tc();
  const c = await new GenericContainer('postgres:15')
    .withExposedPorts(5432)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
    // The image's entrypoint starts a temporary server for init scripts first; the second "ready" is the real one.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(120_000)
    .start();
  return { url: `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`, stop: async () => void (await c.stop()) };
}

/** Targets on this host (127.0.0.1/localhost) are reached from the container through testcontainers' host-port tunnel. */
export async function startPrometheusDocker(targets: string[], job?: string): Promise<DockerService & { url: string }> {
  const { GenericContainer, TestContainers, Wait } = await tc();
  const rewritten: string[] = [];
  for (const t of targets) {
    const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(t);
    if (m) {
      await TestContainers.exposeHostPorts(Number(m[2]));
      rewritten.push(`host.testcontainers.internal:${m[2]}`);
    } else rewritten.push(t);
  }
  const c = await new GenericContainer('prom/prometheus:v2.42.0')
    .withCopyContentToContainer([{ content: prometheusConfig(rewritten, job), target: '/etc/prometheus/prometheus.yml' }])
    .withExposedPorts(9090)
    .withWaitStrategy(Wait.forHttp('/-/ready', 9090))
    .start();
  return { url: `http://${c.getHost()}:${c.getMappedPort(9090)}`, stop: async () => void (await c.stop()) };
}
