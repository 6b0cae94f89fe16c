#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, describeConfig } from './config.ts';
import { loadProducerConfigs, loadSinkConfigFrom } from './config-file.ts';
import { keepHeapTight } from './observe/heap.ts';
import { jsonLogger } from './observe/log.ts';
import { createMetrics } from './observe/metrics.ts';
import { ListenError, startMetricsServer } from './observe/server.ts';

const USAGE = `pipedrive-cdc — Pipedrive change data capture into Kafka, and a sink into DuckDB/PostgreSQL

Usage: pipedrive-cdc <command> [options]

Commands:
  demo     run everything on embedded defaults: local Pipedrive, Kafka, registry, producer, DuckDB sink, metrics
  auth     authorize the producer as your Pipedrive app (OAuth 2.0) and store its tokens
  run      the producer: poll Pipedrive, publish changes to Kafka      (config: environment or --config FILE)
  sink     the sink: consume the topics into DuckDB or PostgreSQL       (config: environment or --config FILE)
  sim      the local Pipedrive (sandbox API): sim --port N --seed S --token T [--deals N]
  config   config check [--config FILE]: validate the configuration without connecting to anything
  status   the connectors of a running producer and their tables' sync state (its admin API)
  tables   tables CONNECTOR [TABLE]: a connector's tables, or a table's columns and what the rules make of them
  connectors  connectors create|authorize|delete NAME: connectors created in a running producer through its admin API
  block    block CONNECTOR TABLE[.COLUMN] [--undo]: stop syncing a table or a column (admin API; docs/ADMIN-API.md)
  hash     hash CONNECTOR TABLE.COLUMN [--undo]: publish a column as COLUMN_sha256
  filter   filter CONNECTOR TABLE FILTER_JSON | --clear: the table's row filter
  pause    pause CONNECTOR [TABLE]: stop polling at the next batch boundary; resume CONNECTOR [TABLE] continues
  resync   resync CONNECTOR TABLE[,TABLE…]|all: every row again, deletes made meanwhile found (docs/OPERATIONS.md)
  audit    audit CONNECTOR: the settings changes and re-syncs, newest first
  models   the dbt data models over the sink's tables: models install, then models [build|run|test|…] (docs/MODELS.md)

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
    case 'config': {
      const { runConfigCommand } = await import('./config-command.ts');
      return runConfigCommand(rest);
    }
    case 'status':
    case 'tables': {
      const { runAdminCommand } = await import('./admin-command.ts');
      return runAdminCommand(command, rest);
    }
    case 'connectors': {
      const { runConnectorsCommand } = await import('./connectors-command.ts');
      return runConnectorsCommand(rest);
    }
    case 'block':
    case 'hash':
    case 'filter':
    case 'pause':
    case 'resume':
    case 'resync':
    case 'audit': {
      const { runSettingsCommand } = await import('./admin-commands/settings.ts');
      return runSettingsCommand(command, rest);
    }
    case 'sim': {
      const { runSim } = await import('./simulator/cli.ts');
      return runSim(rest);
    }
    case 'models': {
      const { runModelsCommand } = await import('./models-command.ts');
      return runModelsCommand(rest);
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
  const { values } = parseArgs({ args, options: { once: { type: 'boolean' }, config: { type: 'string' }, resync: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      'pipedrive-cdc run [--once] [--config FILE] [--resync TABLE[,TABLE]|all]\n  --once         stop when every table has caught up (default: keep polling); exit 1 if a table failed\n' +
        '  --resync T,U   re-sync these tables (or all): read again from the start, rows gone from Pipedrive end soft-deleted in the sinks (docs/OPERATIONS.md)\n' +
        '  --config FILE  connectors and shared settings from a YAML or JSON file (see README); the environment overrides it\n' +
        'Environment: PIPEDRIVE_API_TOKEN(_FILE), PIPEDRIVE_BASE_URL — or PIPEDRIVE_OAUTH_CLIENT_ID, PIPEDRIVE_OAUTH_CLIENT_SECRET(_FILE),\n' +
        '  PIPEDRIVE_OAUTH_TOKEN_FILE, PIPEDRIVE_OAUTH_URL (see `auth --help`); HTTPS_PROXY, HTTP_PROXY, NO_PROXY, PIPEDRIVE_ALLOW_INSECURE_HTTP;\n' +
        '  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, CONNECTOR_NAME,\n' +
        '  KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME(_FILE), KAFKA_SASL_PASSWORD(_FILE), KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE,\n' +
        '  KAFKA_SSL_KEY_FILE, SCHEMA_REGISTRY_USERNAME(_FILE), SCHEMA_REGISTRY_PASSWORD(_FILE), SCHEMA_REGISTRY_CA_FILE (README, "Production setup");\n' +
        '  TABLES, EXCLUDE_TABLES, POLL_INTERVAL_MS, TOKEN_BUDGET_SHARE, DAILY_TOKEN_BUDGET, TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS, METRICS_PORT,\n' +
        '  HISTORY_REBUILD, DAILY_BUDGET_PROBE_MS, FAILED_TABLE_RETRY_MS, LATENESS_WINDOW_MS, DELETE_GUARD_MAX_SHARE, DELETE_GUARD_CONFIRM,\n' +
        '  SYNC_RULES, SCHEMA_CHANGES, HASH_SALT(_FILE) (blocked, hashed and filtered data: docs/SYNC-RULES.md);\n' +
        '  ADMIN_API_TOKEN(_FILE), ADMIN_API_READONLY_TOKEN(_FILE), ADMIN_API_PORT (the admin API: spec/admin-api.yaml);\n' +
        '  CONNECTOR_SECRETS_KEY(_FILE), CONNECTORS_TOPIC (connectors created through the admin API: docs/ADMIN-API.md);\n' +
        '  STATE_DIR (key index snapshots for fast restarts; off keeps none)\n' +
        'Exit codes: 0 stopped or caught up, 1 stopped by an error waiting cannot fix, 2 bad configuration\n',
    );
    return 0;
  }
  const configs = loadProducerConfigs(values.config);
  keepHeapTight();
  const template = configs[0]!;
  const log = jsonLogger('producer');
  const metrics = createMetrics('producer');
  const server = await startMetricsServer(metrics, template.metricsPort);
  log('metrics', { url: `${server.url}/metrics` });
  const { startProducer } = await import('./producer.ts');
  const { Connectors } = await import('./connectors.ts');
  // With the admin API, connectors can be created through it: they are kept in a topic, read here.
  const stored = template.adminApi ? await (await import('./connector-store.ts')).openConnectorStore(template, log) : undefined;
  // One producer per connector (Pipedrive company): its own client, rate-limit budget, topics and state.
  const connectors = new Connectors({
    metrics,
    log,
    logFor: (name) => (configs.length === 1 && name === template.connectorName ? log : jsonLogger('producer', { connector: name })),
    untilCaughtUp: values.once === true,
    start: startProducer,
    template,
    store: stored?.store,
  });
  for (const config of configs) connectors.startConfigured(config);
  connectors.startStored(stored?.definitions ?? []);
  const admin = template.adminApi
    ? await (await import('./admin/server.ts')).startAdminApi({
        port: template.adminApi.port,
        tokens: template.adminApi.tokens,
        connectors: () => connectors.list(),
        connectorAdmin: connectors,
        settings: (name) => connectors.runOf(name)?.settings,
        resync: (name) => {
          const run = connectors.runOf(name);
          return run ? (tables) => run.resync(tables) : undefined;
        },
      })
    : undefined;
  if (admin) log('admin-api', { url: `${admin.url}/v1/connectors` });
  const stop = () => void connectors.stopAll();
  // Asked for before the first poll: each table starts over at its first batch boundary.
  let resyncRefused: Error | undefined;
  if (values.resync !== undefined) {
    const tables = values.resync.trim() === 'all' ? 'all' : values.resync.split(',').map((t) => t.trim()).filter(Boolean);
    for (const { run } of connectors.running()) {
      run.resync(tables).then(
        (result) => log('resync-requested', { ...result }),
        (err: Error) => {
          resyncRefused ??= err;
          stop();
        },
      );
    }
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let code = 0;
  try {
    // One connector stopping on an error of its own does not stop the others.
    const outcomes = await connectors.settled();
    const several = outcomes.length > 1;
    for (const { name, failed, error } of outcomes) {
      const who = several ? `connector ${name}: ` : '';
      if (error) {
        if (!several) throw error;
        process.stderr.write(`pipedrive-cdc: ${who}${error.message}\n`);
        code = 1;
      }
      if (failed.size > 0) {
        process.stderr.write(`pipedrive-cdc: ${who}${failed.size} table(s) could not be synced: ${[...failed.keys()].join(', ')} (see the table-failed lines); the others caught up\n`);
        code = 1;
      }
    }
  } finally {
    await server.close();
    await admin?.close();
    await stored?.store.close();
  }
  if (resyncRefused) {
    process.stderr.write(`pipedrive-cdc: ${resyncRefused.message}\n`);
    code = 1;
  }
  log('stopped');
  return code;
}

async function runSinkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      'pipedrive-cdc sink [--config FILE]\n  --config FILE  shared settings and the sink section of a YAML or JSON file (see README); the environment overrides it\nEnvironment: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, CONNECTOR_NAME, SINK_DESTINATION (duckdb|postgres),\n' +
        '  KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME(_FILE), KAFKA_SASL_PASSWORD(_FILE), KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE,\n' +
        '  KAFKA_SSL_KEY_FILE, SCHEMA_REGISTRY_USERNAME(_FILE), SCHEMA_REGISTRY_PASSWORD(_FILE), SCHEMA_REGISTRY_CA_FILE (README, "Production setup");\n' +
        '  DUCKDB_PATH, DATABASE_URL, DATABASE_SCHEMA, SINK_GROUP_ID, SINK_SESSION_TIMEOUT_MS,\n  SINK_MAX_TRANSACTION_RECORDS, SINK_METRICS_PORT, SINK_NAMING (native|fivetran)\n',
    );
    return 0;
  }
  const config = loadSinkConfigFrom(values.config);
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
