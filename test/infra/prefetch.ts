// Fills the local-infrastructure cache before `vitest run`, so the integration globalSetup only starts
// processes and never spends its hook timeout on downloads. Run by test/infra/setup.sh.
// Only services that would run as local processes are fetched: env-var (external) and Docker ones need nothing.
import { ensureApicurio, ensureKafka, ensurePostgres, ensurePrometheus, kafkaVersion } from '../../src/infra/install.ts';
import { ensureKafkaConnect } from '../../src/infra/kafka-connect.ts';
import { ensureNginx } from '../../src/infra/nginx.ts';
import { selectModes, type ServiceName } from '../../src/infra/services.ts';
import { installDbt } from '../../src/models-command.ts';
import { ensurePythonClients } from './python-clients.ts';

const log = (msg: string) => console.log(`[infra prefetch] ${msg}`);

async function timed(what: string, fn: () => Promise<{ cold: boolean }>): Promise<void> {
  const t0 = Date.now();
  const { cold } = await fn();
  log(`${what}: ${cold ? 'installed' : 'cached'} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

const modes = await selectModes(['kafka', 'registry', 'postgres', 'prometheus']);
const local = (s: ServiceName) => modes[s] === 'local';
log(`modes: ${Object.entries(modes).map(([s, m]) => `${s}=${m}`).join(' ')}`);

// Two chains in parallel: both Maven downloads share ~/.m2, both apt steps share apt's lock.
const chains = [
  async () => {
    if (local('kafka')) await timed(`Kafka ${kafkaVersion()}`, () => ensureKafka());
    if (local('registry')) await timed('Apicurio Registry', () => ensureApicurio(process.env.APICURIO_VERSION || undefined));
    // Always local: the Kafka Connect worker and its plugins (test/integration/kafka-connect.test.ts).
    await timed('Kafka Connect', () => ensureKafkaConnect());
  },
  async () => {
    if (local('postgres')) await timed('PostgreSQL', () => ensurePostgres());
    if (local('prometheus')) await timed('Prometheus', () => ensurePrometheus());
    // Always local: the TLS reverse proxy in front of the registry (test/integration/registry-security.test.ts).
    await timed('nginx', () => ensureNginx());
    // The pinned dbt toolchain of dbt/ (test/integration/models.test.ts): a venv in the cache, from PyPI.
    await timed('dbt', async () => installDbt(log));
    // Confluent's Python client, reading our topics as a Python service would (test/integration/python-consumer.test.ts).
    await timed('Python clients', async () => ensurePythonClients(log));
  },
];
const results = await Promise.allSettled(chains.map((c) => c()));
const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
if (errors.length > 0) {
  for (const e of errors) console.error(`[infra prefetch] ERROR: ${e}`);
  process.exit(1);
}
