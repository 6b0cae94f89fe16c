// vitest globalSetup of the `integration` project: one Kafka + schema registry + PostgreSQL for the
// whole run (env vars → Docker → local processes, see src/infra/services.ts), torn down at the end.
// Prometheus is not started here: only tests that need it start one, with their own scrape targets.
import { startServices } from '../../src/infra/services.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const log = (msg: string) => console.log(`[infra] ${msg}`);
  const t0 = Date.now();
  const services = await startServices({ kafka: true, registry: true, postgres: true, prometheus: false, log });
  log(`all services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const t of services.timings) {
    log(`  ${t.service.padEnd(10)} ${t.mode.padEnd(8)} ${(t.ms / 1000).toFixed(1).padStart(6)} s${t.cold ? '  (cold)' : ''}`);
  }
  // Test workers are started after globalSetup returns and inherit this environment (checked by the
  // first case of test/integration/infra.test.ts), so tests read process.env.KAFKA_BROKERS etc.
  process.env.KAFKA_BROKERS = services.kafkaBrokers.join(',');
  process.env.SCHEMA_REGISTRY_URL = services.schemaRegistryUrl;
  process.env.DATABASE_URL = services.databaseUrl ?? '';
  return async () => {
    const t1 = Date.now();
    await services.stop();
    log(`services stopped in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  };
}
