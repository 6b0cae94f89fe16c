/**
 * The configuration file (`--config FILE`, YAML or JSON): one or more connectors — each a Pipedrive
 * company with its own credentials, topic prefix, tables and schedule — and the settings they share
 * (Kafka, the schema registry, the metrics port, the sink). Its shape is declared once as a zod schema, so
 * an error names the path of the bad key (`connectors[1].tables`) and what is allowed.
 *
 * Each setting of the file is the file form of an environment variable (`pollIntervalMs` is
 * POLL_INTERVAL_MS): the file becomes one environment per connector, the process environment is laid over
 * it (so variables still work and override), and the one loader in config.ts types and checks the
 * result — a value the loader refuses is reported with the file path it came from.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { ConfigError, loadProducerConfig, loadSinkConfig, type ProducerConfig, type SinkConfig } from './config.ts';
import { syncRulesSchema } from './config-rules.ts';

type Env = Record<string, string | undefined>;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const names = z.array(z.string().min(1)).min(1);

/** Per connector: file key → environment variable (the values a list or a scalar). */
const CONNECTOR_KEYS = {
  topicPrefix: 'TOPIC_PREFIX',
  tables: 'TABLES',
  excludeTables: 'EXCLUDE_TABLES',
  pollIntervalMs: 'POLL_INTERVAL_MS',
  tokenBudgetShare: 'TOKEN_BUDGET_SHARE',
  dailyTokenBudget: 'DAILY_TOKEN_BUDGET',
  topicPartitions: 'TOPIC_PARTITIONS',
  topicReplicationFactor: 'TOPIC_REPLICATION_FACTOR',
  topicMinInsyncReplicas: 'TOPIC_MIN_INSYNC_REPLICAS',
  historyRebuild: 'HISTORY_REBUILD',
  dailyBudgetProbeMs: 'DAILY_BUDGET_PROBE_MS',
  failedTableRetryMs: 'FAILED_TABLE_RETRY_MS',
  latenessWindowMs: 'LATENESS_WINDOW_MS',
  deleteGuardMaxShare: 'DELETE_GUARD_MAX_SHARE',
  deleteGuardConfirm: 'DELETE_GUARD_CONFIRM',
  hashSalt: 'HASH_SALT',
  hashSaltFile: 'HASH_SALT_FILE',
  schemaChanges: 'SCHEMA_CHANGES',
  webhookPublicUrl: 'WEBHOOK_PUBLIC_URL',
  webhookPort: 'WEBHOOK_PORT',
  webhookHost: 'WEBHOOK_HOST',
  webhookUser: 'WEBHOOK_USER',
  webhookPassword: 'WEBHOOK_PASSWORD',
  webhookPasswordFile: 'WEBHOOK_PASSWORD_FILE',
  webhookMinPassGapMs: 'WEBHOOK_MIN_PASS_GAP_MS',
} as const;

const PIPEDRIVE_KEYS = {
  baseUrl: 'PIPEDRIVE_BASE_URL',
  apiToken: 'PIPEDRIVE_API_TOKEN',
  apiTokenFile: 'PIPEDRIVE_API_TOKEN_FILE',
  allowInsecureHttp: 'PIPEDRIVE_ALLOW_INSECURE_HTTP',
  httpsProxy: 'HTTPS_PROXY',
  httpProxy: 'HTTP_PROXY',
  noProxy: 'NO_PROXY',
} as const;

const OAUTH_KEYS = {
  clientId: 'PIPEDRIVE_OAUTH_CLIENT_ID',
  clientSecret: 'PIPEDRIVE_OAUTH_CLIENT_SECRET',
  clientSecretFile: 'PIPEDRIVE_OAUTH_CLIENT_SECRET_FILE',
  tokenFile: 'PIPEDRIVE_OAUTH_TOKEN_FILE',
  url: 'PIPEDRIVE_OAUTH_URL',
  redirectUri: 'PIPEDRIVE_OAUTH_REDIRECT_URI',
} as const;

/** Shared by every connector and the sink: file path → environment variable. */
const GLOBAL_KEYS = {
  'kafka.brokers': 'KAFKA_BROKERS',
  'kafka.securityProtocol': 'KAFKA_SECURITY_PROTOCOL',
  'kafka.sasl.mechanism': 'KAFKA_SASL_MECHANISM',
  'kafka.sasl.username': 'KAFKA_SASL_USERNAME',
  'kafka.sasl.usernameFile': 'KAFKA_SASL_USERNAME_FILE',
  'kafka.sasl.password': 'KAFKA_SASL_PASSWORD',
  'kafka.sasl.passwordFile': 'KAFKA_SASL_PASSWORD_FILE',
  'kafka.ssl.caFile': 'KAFKA_SSL_CA_FILE',
  'kafka.ssl.certFile': 'KAFKA_SSL_CERT_FILE',
  'kafka.ssl.keyFile': 'KAFKA_SSL_KEY_FILE',
  'schemaRegistry.url': 'SCHEMA_REGISTRY_URL',
  'schemaRegistry.username': 'SCHEMA_REGISTRY_USERNAME',
  'schemaRegistry.usernameFile': 'SCHEMA_REGISTRY_USERNAME_FILE',
  'schemaRegistry.password': 'SCHEMA_REGISTRY_PASSWORD',
  'schemaRegistry.passwordFile': 'SCHEMA_REGISTRY_PASSWORD_FILE',
  'schemaRegistry.caFile': 'SCHEMA_REGISTRY_CA_FILE',
  metricsPort: 'METRICS_PORT',
  stateDir: 'STATE_DIR',
  'adminApi.port': 'ADMIN_API_PORT',
  'adminApi.token': 'ADMIN_API_TOKEN',
  'adminApi.tokenFile': 'ADMIN_API_TOKEN_FILE',
  'adminApi.readOnlyToken': 'ADMIN_API_READONLY_TOKEN',
  'adminApi.readOnlyTokenFile': 'ADMIN_API_READONLY_TOKEN_FILE',
} as const;

const GLOBAL_PATHS = new Map(Object.entries(GLOBAL_KEYS).map(([path, envKey]) => [envKey as string, path]));

/** The keys of GLOBAL_KEYS under `prefix.` (one level), for the section's object shape. */
function keysUnder(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(GLOBAL_KEYS).flatMap(([k, v]) => (k.startsWith(`${prefix}.`) && !k.slice(prefix.length + 1).includes('.') ? [[k.slice(prefix.length + 1), v]] : [])));
}

const SINK_KEYS = {
  connector: 'CONNECTOR_NAME',
  destination: 'SINK_DESTINATION',
  duckdbPath: 'DUCKDB_PATH',
  databaseUrl: 'DATABASE_URL',
  databaseUrlFile: 'DATABASE_URL_FILE',
  databaseSchema: 'DATABASE_SCHEMA',
  groupId: 'SINK_GROUP_ID',
  sessionTimeoutMs: 'SINK_SESSION_TIMEOUT_MS',
  maxTransactionRecords: 'SINK_MAX_TRANSACTION_RECORDS',
  metricsPort: 'SINK_METRICS_PORT',
  naming: 'SINK_NAMING',
} as const;

/** An object shape with each of `keys` optional, of type `value`. */
function shape<K extends string, T extends z.ZodType>(keys: Readonly<Record<K, string>>, value: T): { [P in K]: z.ZodOptional<T> } {
  return Object.fromEntries(Object.keys(keys).map((k) => [k, value.optional()])) as { [P in K]: z.ZodOptional<T> };
}

const connectorSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . and - only'),
    pipedrive: z
      .object({ ...shape(PIPEDRIVE_KEYS, scalar), oauth: z.object(shape(OAUTH_KEYS, scalar)).strict().optional() })
      .strict(),
    ...shape(CONNECTOR_KEYS, z.union([scalar, names])),
    /** Blocked tables and columns, hashed columns, row filters, the schema-change policy (capture/rules.ts). */
    rules: syncRulesSchema.optional(),
  })
  .strict();

export const configFileSchema = z
  .object({
    kafka: z
      .object({
        brokers: z.union([z.string(), names]).optional(),
        securityProtocol: z.string().optional(),
        sasl: z.object(shape(keysUnder('kafka.sasl'), z.string())).strict().optional(),
        ssl: z.object(shape(keysUnder('kafka.ssl'), z.string())).strict().optional(),
      })
      .strict()
      .optional(),
    schemaRegistry: z.object({ ...shape(keysUnder('schemaRegistry'), z.string()), url: z.string() }).strict().optional(),
    metricsPort: z.number().int().optional(),
    stateDir: z.string().min(1).optional(),
    adminApi: z.object(shape(keysUnder('adminApi'), scalar)).strict().optional(),
    connectors: z.array(connectorSchema).min(1, 'at least one connector'),
    sink: z.object(shape(SINK_KEYS, scalar)).strict().optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.connectors.forEach((c, i) => {
      const prefix = String(c.topicPrefix ?? c.name);
      for (const [what, v] of [['name', c.name], ['topicPrefix', prefix]] as const) {
        const key = `${what}:${v}`;
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['connectors', i, what], message: `"${v}" is already used by connectors[${seen.get(key)}]: each connector needs its own ${what}` });
        seen.set(key, i);
      }
    });
  });

export type ConfigFile = z.infer<typeof configFileSchema>;

/** The environment of one connector (or of the sink), and where each variable came from in the file. */
export interface FileEnv {
  readonly env: Env;
  /** Environment variable → its path in the file, for messages. */
  readonly paths: ReadonlyMap<string, string>;
}

/** The producers to run: one per connector of the file (`--config`), or one from the environment alone. */
export function loadProducerConfigs(path: string | undefined, env: Env = process.env): ProducerConfig[] {
  if (path === undefined) return [loadProducerConfig(env)];
  const configs = connectorEnvs(readConfigFile(path), env).map((fileEnv) => {
    try {
      return loadProducerConfig(fileEnv.env);
    } catch (err) {
      throw inFile(err, fileEnv, path);
    }
  });
  checkWebhookClashes(configs, path);
  return configs;
}

/**
 * Each connector with webhooks runs its own receiver, and owns every subscription posting to its public
 * URL (pipedrive/webhooks.ts deletes the others): two connectors cannot share a port or a URL.
 */
function checkWebhookClashes(configs: readonly ProducerConfig[], path: string): void {
  const seen = new Map<string, number>();
  configs.forEach((c, i) => {
    const w = c.webhooks;
    if (!w) return;
    const keys: Array<[string, string, string]> = [[`url:${w.publicUrl.replace(/\/+$/, '').toLowerCase()}`, 'webhookPublicUrl', 'public URL']];
    // Port 0 picks a free port for each receiver.
    if (w.port !== 0) keys.push([`port:${w.port}`, 'webhookPort', `port ${w.port}`]);
    for (const [key, field, what] of keys) {
      const other = seen.get(key);
      if (other !== undefined) {
        throw new ConfigError(`${path}: connectors[${i}].${field}: the webhook ${what} is also connectors[${other}]'s ("${configs[other]!.connectorName}"); each connector with webhooks needs its own WEBHOOK_PORT and WEBHOOK_PUBLIC_URL (set webhookPort and webhookPublicUrl per connector in the file, not in the environment)`);
      }
      seen.set(key, i);
    }
  });
}

/** The sink's configuration: the file's (`--config`) with the environment over it, or the environment alone. */
export function loadSinkConfigFrom(path: string | undefined, env: Env = process.env): SinkConfig {
  if (path === undefined) return loadSinkConfig(env);
  const fileEnv = sinkEnv(readConfigFile(path), env);
  try {
    return loadSinkConfig(fileEnv.env);
  } catch (err) {
    throw inFile(err, fileEnv, path);
  }
}

/** Reads and validates a configuration file; every problem is a ConfigError naming the file and the key path. */
/** yaml is loaded only when a YAML file is read: a start from the environment alone skips its 70 modules. */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${pathText(i.path)}: ${issueText(i, i.path)}`);
    throw new ConfigError(`${path}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** One environment per connector: the file's shared and connector settings, the process environment over them. */
export function connectorEnvs(file: ConfigFile, processEnv: Env): FileEnv[] {
  return file.connectors.map((c, i) => {
    const env: Env = {};
    const paths = new Map<string, string>();
    const put = (envKey: string, value: unknown, path: string) => {
      if (value === undefined) return;
      env[envKey] = Array.isArray(value) ? value.join(',') : String(value);
      paths.set(envKey, path);
    };
    putGlobals(file, put);
    put('CONNECTOR_NAME', c.name, `connectors[${i}].name`);
    put('TOPIC_PREFIX', c.topicPrefix ?? c.name, `connectors[${i}].${c.topicPrefix === undefined ? 'name' : 'topicPrefix'}`);
    for (const [k, envKey] of Object.entries(CONNECTOR_KEYS)) if (k !== 'topicPrefix') put(envKey, (c as Record<string, unknown>)[k], `connectors[${i}].${k}`);
    if (c.rules !== undefined) put('SYNC_RULES', JSON.stringify(c.rules), `connectors[${i}].rules`);
    for (const [k, envKey] of Object.entries(PIPEDRIVE_KEYS)) put(envKey, (c.pipedrive as Record<string, unknown>)[k], `connectors[${i}].pipedrive.${k}`);
    for (const [k, envKey] of Object.entries(OAUTH_KEYS)) put(envKey, (c.pipedrive.oauth as Record<string, unknown> | undefined)?.[k], `connectors[${i}].pipedrive.oauth.${k}`);
    return overlay(env, paths, processEnv, file.connectors.length);
  });
}

/** The sink's environment: the shared settings and the file's `sink` section, the process environment over them. */
export function sinkEnv(file: ConfigFile, processEnv: Env): FileEnv {
  const env: Env = {};
  const paths = new Map<string, string>();
  const put = (envKey: string, value: unknown, path: string) => {
    if (value === undefined) return;
    env[envKey] = Array.isArray(value) ? value.join(',') : String(value);
    paths.set(envKey, path);
  };
  putGlobals(file, put);
  // The sink reads one connector's topics: the one named, else the only one.
  const named = file.sink?.connector;
  const connector = named === undefined ? (file.connectors.length === 1 ? file.connectors[0] : undefined) : file.connectors.find((c) => c.name === named);
  if (!connector && (named !== undefined || processEnv.TOPIC_PREFIX === undefined)) {
    throw new ConfigError(named === undefined ? 'sink.connector: required when the file holds several connectors (the sink reads one connector\'s topics)' : `sink.connector: no connector is named "${String(named)}"`);
  }
  if (connector) {
    put('CONNECTOR_NAME', connector.name, 'sink.connector');
    put('TOPIC_PREFIX', connector.topicPrefix ?? connector.name, 'sink.connector');
  }
  for (const [k, envKey] of Object.entries(SINK_KEYS)) if (k !== 'connector') put(envKey, (file.sink as Record<string, unknown> | undefined)?.[k], `sink.${k}`);
  return overlay(env, paths, processEnv, 1);
}

function putGlobals(file: ConfigFile, put: (envKey: string, value: unknown, path: string) => void): void {
  for (const [path, envKey] of Object.entries(GLOBAL_KEYS)) {
    const value = path.split('.').reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), file);
    put(envKey, value, path);
  }
}

/** The process environment over the file's; a connector's identity cannot be overridden for several at once. */
function overlay(env: Env, paths: Map<string, string>, processEnv: Env, connectors: number): FileEnv {
  const out: Env = { ...env };
  for (const [k, v] of Object.entries(processEnv)) {
    if (v === undefined || v === '') continue;
    if (connectors > 1 && ['CONNECTOR_NAME', 'TOPIC_PREFIX', 'PIPEDRIVE_API_TOKEN', 'PIPEDRIVE_API_TOKEN_FILE', 'HASH_SALT', 'HASH_SALT_FILE', 'SYNC_RULES'].includes(k)) {
      throw new ConfigError(`${k}: set in the environment, but the configuration file holds ${connectors} connectors; set it per connector in the file`);
    }
    out[k] = v;
    paths.delete(k);
  }
  return { env: out, paths };
}

/** A ConfigError from the environment loader, re-worded to name the file path the value came from. */
export function inFile(err: unknown, fileEnv: FileEnv, file: string): unknown {
  if (!(err instanceof ConfigError)) return err;
  const key = /^([A-Z][A-Z0-9_]*)(?=[ :])/.exec(err.message)?.[1];
  // A value the file gave, else where the file would give it (a shared setting that is missing).
  const path = key === undefined ? undefined : (fileEnv.paths.get(key.replace(/_FILE$/, '')) ?? fileEnv.paths.get(key) ?? GLOBAL_PATHS.get(key));
  return path ? new ConfigError(`${file}: ${path}${err.message.slice(key!.length)}`) : err;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '') || '(the file)';
}

function issueText(issue: z.core.$ZodIssue, path: readonly PropertyKey[]): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(path);
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${allowed ? `; allowed: ${allowed.join(', ')}` : ''}`;
  }
  return issue.message;
}

/** The keys the schema allows for the object at `path` (array indexes skipped). */
function allowedKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  let node: z.ZodType = configFileSchema;
  for (const p of path) {
    while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    if (typeof p === 'number') {
      if (!(node instanceof z.ZodArray)) return undefined;
      node = node.element as z.ZodType;
      continue;
    }
    if (!(node instanceof z.ZodObject)) return undefined;
    node = (node.shape as Record<string, z.ZodType>)[String(p)]!;
    if (!node) return undefined;
  }
  while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  return node instanceof z.ZodObject ? Object.keys(node.shape as object) : undefined;
}
