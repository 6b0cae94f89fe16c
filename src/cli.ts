import { parseArgs } from 'node:util';
import { ConfigError, describeConfig, loadProducerConfig, loadSinkConfig } from './config.ts';
import { jsonLogger } from './observe/log.ts';
import { createMetrics } from './observe/metrics.ts';
import { ListenError, startMetricsServer } from './observe/server.ts';

const USAGE = `pipedrive-cdc — Pipedrive change data capture into Kafka, and a sink into DuckDB/PostgreSQL

Usage: pipedrive-cdc <command> [options]

Commands:
  demo     run everything on embedded defaults: local Pipedrive, Kafka, registry, producer, DuckDB sink, metrics
  auth     authorize the producer as your Pipedrive app (OAuth 2.0) and store its tokens
  run      the producer: poll Pipedrive, publish changes to Kafka      (config: environment, see README)
  sink     the sink: consume the topics into DuckDB or PostgreSQL       (config: environment, see README)
  sim      the local Pipedrive (sandbox API): sim --port N --seed S --token T [--deals N]

Run \`pipedrive-cdc <command> --help\` for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    case 'run':
      return runProducerCommand(rest);
    case 'auth': {
      const { runAuth } = await import('./auth-command.ts');
      return runAuth(rest);
    }
    case 'sink':
      return runSinkCommand(rest);
    case 'sim': {
      const { runSim } = await import('./simulator/cli.ts');
      return runSim(rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      return runDemo(rest);
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

async function runProducerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      'pipedrive-cdc run [--once]\n  --once  stop when every table has caught up (default: keep polling); exit 1 if a table failed\n' +
        'Environment: PIPEDRIVE_API_TOKEN(_FILE), PIPEDRIVE_BASE_URL — or PIPEDRIVE_OAUTH_CLIENT_ID, PIPEDRIVE_OAUTH_CLIENT_SECRET(_FILE),\n' +
        '  PIPEDRIVE_OAUTH_TOKEN_FILE, PIPEDRIVE_OAUTH_URL (see `auth --help`); HTTPS_PROXY, HTTP_PROXY, NO_PROXY, PIPEDRIVE_ALLOW_INSECURE_HTTP;\n' +
        '  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, CONNECTOR_NAME,\n' +
        '  KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME(_FILE), KAFKA_SASL_PASSWORD(_FILE), KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE,\n' +
        '  KAFKA_SSL_KEY_FILE, SCHEMA_REGISTRY_USERNAME(_FILE), SCHEMA_REGISTRY_PASSWORD(_FILE), SCHEMA_REGISTRY_CA_FILE (README, "Production setup");\n' +
        '  TABLES, EXCLUDE_TABLES, POLL_INTERVAL_MS, TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS, METRICS_PORT,\n' +
        '  HISTORY_REBUILD, DAILY_BUDGET_PROBE_MS, FAILED_TABLE_RETRY_MS, LATENESS_WINDOW_MS, DELETE_GUARD_MAX_SHARE, DELETE_GUARD_CONFIRM\n' +
        'Exit codes: 0 stopped or caught up, 1 stopped by an error waiting cannot fix, 2 bad configuration\n',
    );
    return 0;
  }
  const config = loadProducerConfig();
  const log = jsonLogger('producer');
  log('starting', { config: describeConfig(config) });
  const metrics = createMetrics('producer');
  const server = await startMetricsServer(metrics, config.metricsPort);
  log('metrics', { url: `${server.url}/metrics` });
  const { startProducer } = await import('./producer.ts');
  const run = startProducer(config, { metrics, log, untilCaughtUp: values.once === true });
  const stop = () => void run.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { failed } = await run.done;
    if (failed.size > 0) {
      for (const [table, error] of failed) log('table-failed', { table, error: error.message });
      process.stderr.write(`pipedrive-cdc: ${failed.size} table(s) could not be synced: ${[...failed.keys()].join(', ')} (see the table-failed lines); the others caught up\n`);
      return 1;
    }
  } finally {
    await server.close();
  }
  log('stopped');
  return 0;
}

async function runSinkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      'pipedrive-cdc sink\nEnvironment: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, CONNECTOR_NAME, SINK_DESTINATION (duckdb|postgres),\n' +
        '  KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME(_FILE), KAFKA_SASL_PASSWORD(_FILE), KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE,\n' +
        '  KAFKA_SSL_KEY_FILE, SCHEMA_REGISTRY_USERNAME(_FILE), SCHEMA_REGISTRY_PASSWORD(_FILE), SCHEMA_REGISTRY_CA_FILE (README, "Production setup");\n' +
        '  DUCKDB_PATH, DATABASE_URL, DATABASE_SCHEMA, SINK_GROUP_ID, SINK_SESSION_TIMEOUT_MS, SINK_METRICS_PORT\n',
    );
    return 0;
  }
  const config = loadSinkConfig();
  const log = jsonLogger('sink');
  log('starting', { config: describeConfig(config) });
  const metrics = createMetrics('sink');
  const server = await startMetricsServer(metrics, config.metricsPort, undefined, 'SINK_METRICS_PORT');
  log('metrics', { url: `${server.url}/metrics` });
  const { startSink } = await import('./sink/sink.ts');
  const sink = await startSink(config, { metrics, log });
  const stopped = await Promise.race([
    new Promise<'signal'>((resolve) => {
      process.once('SIGINT', () => resolve('signal'));
      process.once('SIGTERM', () => resolve('signal'));
    }),
    sink.failed,
  ]).catch((err: Error) => err);
  await sink.stop().catch(() => undefined);
  await server.close();
  if (stopped instanceof Error) throw stopped;
  log('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof ListenError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${err.message}\nRun with --help for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`pipedrive-cdc: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
