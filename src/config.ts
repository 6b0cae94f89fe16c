import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { catalog } from './catalog/index.ts';
import { bool, ConfigError, int, list, millis, oneOf, optionalInt, port, secret, share, url, wholeSeconds, type Env } from './config-env.ts';
import { loadKafkaSecurity } from './config-kafka.ts';
import { loadSyncRules } from './config-rules.ts';
import type { SyncRules } from './capture/rules.ts';
import { describeRegistryAuth, loadRegistryAuth } from './config-registry.ts';
import { describeWebhookSettings, loadWebhookSettings, type WebhookSettings } from './config-webhooks.ts';
import { describeKafkaSecurity, type KafkaSecurity } from './kafka/security.ts';
import { DEFAULT_OAUTH_URL } from './pipedrive/oauth-server.ts';
import { defaultTokenFile } from './pipedrive/token-store.ts';
import { insecureReason, type ProxySettings } from './pipedrive/transport.ts';
import type { RegistryAuth } from './registry/http.ts';
import { redactUrl } from './redact.ts';

export { ConfigError, redactUrl };

/*
 * One typed configuration, read once from the environment (the names docker-compose.yml and the docs use).
 * Every error is a ConfigError naming the variable and saying what to set. Secrets are never part of
 * `describeConfig`.
 */

export interface CommonConfig {
  readonly kafkaBrokers: readonly string[];
  /** KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* (config-kafka.ts): every Kafka client of the process uses it. */
  readonly kafkaSecurity: KafkaSecurity;
  readonly schemaRegistryUrl: string;
  /** SCHEMA_REGISTRY_USERNAME / _PASSWORD / _CA_FILE (config-registry.ts). */
  readonly schemaRegistryAuth: RegistryAuth;
  readonly topicPrefix: string;
  readonly connectorName: string;
}

/** How to reach Pipedrive: credentials, proxies, and whether plain http off this machine is allowed. */
export interface PipedriveSettings {
  readonly auth: ApiTokenSettings | OAuthSettings;
  readonly proxy: ProxySettings;
  /** PIPEDRIVE_ALLOW_INSECURE_HTTP: plain http to a host off this machine (a simulator in a container network). */
  readonly allowInsecureHttp: boolean;
}

export interface ApiTokenSettings {
  readonly kind: 'api-token';
  /** PIPEDRIVE_BASE_URL: the company domain (https://acme.pipedrive.com) or the simulator. */
  readonly baseUrl: string;
  readonly apiToken: string;
}

/** OAuth 2.0 (chosen when PIPEDRIVE_OAUTH_CLIENT_ID is set): the base URL is the token's api_domain. */
export interface OAuthSettings {
  readonly kind: 'oauth';
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where `pipedrive-cdc auth` stores the tokens and the producer reads and rotates them. */
  readonly tokenFile: string;
  /** https://oauth.pipedrive.com, or the simulator standing in for it. */
  readonly oauthUrl: string;
  /** The app's registered callback URL; unset, `auth` uses http://127.0.0.1:<port>/callback. */
  readonly redirectUri: string | undefined;
}

export interface ProducerConfig extends CommonConfig {
  readonly pipedrive: PipedriveSettings;
  readonly tables: readonly string[];
  /** TABLES less EXCLUDE_TABLES, before the rules block any: what rules changed through the admin API choose from. */
  readonly selectedTables?: readonly string[];
  readonly pollIntervalMs: number;
  /**
   * TOKEN_BUDGET_SHARE: the share of the daily token budget steady-state polling may spend
   * (capture/token-pacer.ts); undefined (`off`): rounds every POLL_INTERVAL_MS whatever they cost.
   */
  readonly tokenBudgetShare: number | undefined;
  /** DAILY_TOKEN_BUDGET: the daily budget to pace by when Pipedrive sends no `x-daily-ratelimit-token-limit`. */
  readonly dailyTokenBudget: number | undefined;
  readonly topicPartitions: number;
  /** Replication of new topics (clamped to the number of brokers, so a single broker gets 1). */
  readonly topicReplicationFactor: number;
  /** min.insync.replicas of new topics (clamped to their replication factor). */
  readonly topicMinInsyncReplicas: number;
  readonly metricsPort: number;
  /**
   * Rebuilding versions from changelogs (one call per row): `all` (also for the rows of a first sync),
   * `changes` (only for rows changed after it), `off` (history holds the polled versions only).
   */
  readonly historyRebuild: 'all' | 'changes' | 'off';
  /** While the daily API budget is spent, one request this often tells whether it was reset. */
  readonly dailyBudgetProbeMs: number;
  /** A table that failed with an error of its own (a plan or permission lacking, a malformed row) is tried again this often. */
  readonly failedTableRetryMs: number;
  /** How far below its cursor each incremental read starts again, for rows stamped before they became visible. */
  readonly latenessWindowMs: number;
  /** Largest share of a table's rows one pass may delete by absence (1 = no guard). */
  readonly deleteGuardMaxShare: number;
  /** Tables whose mass delete an operator confirmed. */
  readonly deleteGuardConfirm: readonly string[];
  /** Blocked tables and columns, hashed columns, row filters, the schema-change policy (SYNC_RULES, HASH_SALT). */
  readonly rules: SyncRules;
  /** The admin REST API of the process (ADMIN_API_*): off unless a token is set. */
  readonly adminApi: AdminApiSettings | undefined;
  /** Pipedrive webhooks as change hints (WEBHOOK_*, config-webhooks.ts): off unless WEBHOOK_PUBLIC_URL is set. */
  readonly webhooks: WebhookSettings | undefined;
  /** Local cache of key index snapshots (STATE_DIR; undefined = off): restarts read only what was written since. */
  readonly stateDir: string | undefined;
}

export interface AdminApiSettings {
  readonly port: number;
  readonly tokens: ReadonlyArray<{ readonly name: string; readonly token: string; readonly access: 'admin' | 'read-only' }>;
}

export type Destination = 'duckdb' | 'postgres';

export interface SinkConfig extends CommonConfig {
  readonly destination: Destination;
  readonly duckdbPath: string;
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema the tables go into. */
  readonly databaseSchema: string;
  readonly groupId: string;
  /** Consumer group session timeout: how long a dead sink instance keeps its partitions. */
  readonly sessionTimeoutMs: number;
  /** Records one database transaction takes at most (batches of several partitions are applied together up to this). */
  readonly maxTransactionRecords: number;
  readonly metricsPort: number;
  /**
   * Column names in the destination: `native` (the record's, `_deleted`, `_start`, …) or `fivetran`
   * (Fivetran's column names and system columns, `_fivetran_synced`, `_fivetran_deleted`, `_fivetran_start`, …).
   */
  readonly naming: 'native' | 'fivetran';
}

export function loadProducerConfig(env: Env = process.env): ProducerConfig {
  const known = (key: string, names: readonly string[]) => {
    for (const t of names) if (!catalog.has(t)) throw new ConfigError(`${key}: unknown table "${t}"; known: ${[...catalog.keys()].join(', ')}`);
    return names;
  };
  const excluded = new Set(known('EXCLUDE_TABLES', list(env, 'EXCLUDE_TABLES') ?? []));
  const rules = loadSyncRules(env);
  const selectedTables = known('TABLES', list(env, 'TABLES') ?? [...catalog.keys()]).filter((t) => !excluded.has(t));
  const tables = selectedTables.filter((t) => !rules.tableBlocked(t));
  if (tables.length === 0) throw new ConfigError('TABLES / EXCLUDE_TABLES: no table is left to sync');
  const shared = common(env);
  const pipedrive = loadPipedriveSettings(env);
  return {
    ...shared,
    pipedrive,
    tables,
    selectedTables,
    pollIntervalMs: millis(env, 'POLL_INTERVAL_MS', 30_000, 100),
    tokenBudgetShare: budgetShare(env),
    dailyTokenBudget: optionalInt(env, 'DAILY_TOKEN_BUDGET', 1, 1_000_000_000, 'a number of tokens'),
    topicPartitions: int(env, 'TOPIC_PARTITIONS', 3, 1, 10_000),
    topicReplicationFactor: int(env, 'TOPIC_REPLICATION_FACTOR', 3, 1, 32),
    topicMinInsyncReplicas: int(env, 'TOPIC_MIN_INSYNC_REPLICAS', 2, 1, 32),
    metricsPort: port(env, 'METRICS_PORT', 9464),
    historyRebuild: oneOf(env, 'HISTORY_REBUILD', ['all', 'changes', 'off'] as const, 'all'),
    dailyBudgetProbeMs: millis(env, 'DAILY_BUDGET_PROBE_MS', 300_000, 100),
    failedTableRetryMs: millis(env, 'FAILED_TABLE_RETRY_MS', 300_000, 100),
    latenessWindowMs: wholeSeconds('LATENESS_WINDOW_MS', millis(env, 'LATENESS_WINDOW_MS', 60_000, 0)),
    deleteGuardMaxShare: share(env, 'DELETE_GUARD_MAX_SHARE', 0.2),
    deleteGuardConfirm: known('DELETE_GUARD_CONFIRM', list(env, 'DELETE_GUARD_CONFIRM') ?? []),
    rules,
    adminApi: loadAdminApi(env),
    webhooks: loadWebhookSettings(env, shared.connectorName, pipedrive.allowInsecureHttp),
    stateDir: stateDir(env),
  };
}

/**
 * STATE_DIR: where key index snapshots are kept (default `$XDG_STATE_HOME/pipedrive-cdc`, else
 * `~/.local/state/pipedrive-cdc`); `off` keeps none (every start reads the indexed topics whole).
 */
function stateDir(env: Env): string | undefined {
  const v = env['STATE_DIR'];
  if (v === 'off') return undefined;
  if (v !== undefined && v !== '') {
    if (!isAbsolute(v)) throw new ConfigError(`STATE_DIR: "${v}" is not an absolute path (or "off" to keep no key index snapshots)`);
    return v;
  }
  return join(env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state'), 'pipedrive-cdc');
}

/** ADMIN_API_TOKEN and ADMIN_API_READONLY_TOKEN (or their _FILE), ADMIN_API_PORT (default 9470). */
function loadAdminApi(env: Env): AdminApiSettings | undefined {
  const admin = secret(env, 'ADMIN_API_TOKEN');
  const readOnly = secret(env, 'ADMIN_API_READONLY_TOKEN');
  if (!admin && !readOnly) return undefined;
  for (const [key, t] of [['ADMIN_API_TOKEN', admin], ['ADMIN_API_READONLY_TOKEN', readOnly]] as const) {
    if (t !== undefined && t.length < 16) throw new ConfigError(`${key}: too short; use a random secret of at least 16 characters (e.g. openssl rand -hex 24)`);
  }
  if (admin !== undefined && admin === readOnly) throw new ConfigError('ADMIN_API_READONLY_TOKEN: equals ADMIN_API_TOKEN; the read-only token needs its own secret');
  return {
    port: port(env, 'ADMIN_API_PORT', 9470),
    tokens: [...(admin ? [{ name: 'admin', token: admin, access: 'admin' as const }] : []), ...(readOnly ? [{ name: 'read-only', token: readOnly, access: 'read-only' as const }] : [])],
  };
}

/**
 * The Pipedrive part of the configuration (the producer's, and all `pipedrive-cdc auth` needs). OAuth when
 * PIPEDRIVE_OAUTH_CLIENT_ID is set — PIPEDRIVE_API_TOKEN and PIPEDRIVE_BASE_URL are then not used, so a
 * deployment that sets them by default (docker-compose.yml) can switch by adding the OAuth settings.
 */
export function loadPipedriveSettings(env: Env = process.env): PipedriveSettings {
  const allowInsecureHttp = bool(env, 'PIPEDRIVE_ALLOW_INSECURE_HTTP', false);
  const proxy = proxySettings(env);
  const secure = (key: string, value: string): string => {
    const why = insecureReason(value, key, allowInsecureHttp);
    if (why) throw new ConfigError(why);
    return value;
  };
  // Read both ways every time: the compose check sees every variable it sets being read.
  const baseUrl = url(env, 'PIPEDRIVE_BASE_URL', 'https://api.pipedrive.com');
  const apiToken = secret(env, 'PIPEDRIVE_API_TOKEN');
  const clientId = env['PIPEDRIVE_OAUTH_CLIENT_ID']?.trim();
  if (!clientId) {
    if (!apiToken) {
      throw new ConfigError(
        'PIPEDRIVE_API_TOKEN: required — the API token of a Pipedrive admin user (Settings → Personal preferences → API); ' +
          'or set PIPEDRIVE_OAUTH_CLIENT_ID and PIPEDRIVE_OAUTH_CLIENT_SECRET to use OAuth (see README, "Production setup")',
      );
    }
    return { auth: { kind: 'api-token', baseUrl: secure('PIPEDRIVE_BASE_URL', baseUrl), apiToken }, proxy, allowInsecureHttp };
  }
  const clientSecret = secret(env, 'PIPEDRIVE_OAUTH_CLIENT_SECRET');
  if (!clientSecret) {
    throw new ConfigError('PIPEDRIVE_OAUTH_CLIENT_SECRET: required with PIPEDRIVE_OAUTH_CLIENT_ID — the client secret of your Pipedrive app (Developer Hub → OAuth & access scopes); or PIPEDRIVE_OAUTH_CLIENT_SECRET_FILE naming a file that holds it');
  }
  const redirect = env['PIPEDRIVE_OAUTH_REDIRECT_URI'] ? url(env, 'PIPEDRIVE_OAUTH_REDIRECT_URI') : undefined;
  return {
    auth: {
      kind: 'oauth',
      clientId,
      clientSecret,
      tokenFile: env['PIPEDRIVE_OAUTH_TOKEN_FILE'] || defaultTokenFile(env),
      oauthUrl: secure('PIPEDRIVE_OAUTH_URL', url(env, 'PIPEDRIVE_OAUTH_URL', DEFAULT_OAUTH_URL)),
      redirectUri: redirect,
    },
    proxy,
    allowInsecureHttp,
  };
}

/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY, each also in lower case, which wins (as in curl and undici).
 * Only Pipedrive's API and OAuth server are reached through them.
 */
function proxySettings(env: Env): ProxySettings {
  const pick = (name: string): string | undefined => {
    const lower = env[name.toLowerCase()];
    const upper = env[name];
    return lower !== undefined && lower !== '' ? lower : upper || undefined;
  };
  const proxyUrl = (name: string): string | undefined => {
    const v = pick(name);
    if (v === undefined) return undefined;
    let p: URL;
    try {
      p = new URL(v);
    } catch {
      throw new ConfigError(`${name}: not a URL (e.g. http://proxy.example:3128, or http://user:password@proxy.example:3128)`);
    }
    if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new ConfigError(`${name}: ${redactUrl(v)} must be an http:// or https:// proxy URL`);
    return v;
  };
  return { httpsProxy: proxyUrl('HTTPS_PROXY'), httpProxy: proxyUrl('HTTP_PROXY'), noProxy: pick('NO_PROXY') };
}

export function loadSinkConfig(env: Env = process.env): SinkConfig {
  const c = common(env);
  const destination = (env.SINK_DESTINATION ?? 'duckdb') as Destination;
  if (destination !== 'duckdb' && destination !== 'postgres') {
    throw new ConfigError(`SINK_DESTINATION: "${destination}" is not a destination; use duckdb or postgres`);
  }
  const databaseUrl = secret(env, 'DATABASE_URL');
  if (destination === 'postgres' && !databaseUrl) {
    throw new ConfigError('DATABASE_URL: required when SINK_DESTINATION=postgres (postgres://user:password@host:5432/db), or DATABASE_URL_FILE naming a file that holds it');
  }
  return {
    ...c,
    destination,
    duckdbPath: env.DUCKDB_PATH || 'pipedrive.duckdb',
    databaseUrl,
    databaseSchema: env.DATABASE_SCHEMA || 'public',
    groupId: env.SINK_GROUP_ID || `${c.connectorName}-sink-${destination}`,
    sessionTimeoutMs: millis(env, 'SINK_SESSION_TIMEOUT_MS', 30_000, 6_000),
    maxTransactionRecords: int(env, 'SINK_MAX_TRANSACTION_RECORDS', 50_000, 1, 1_000_000),
    metricsPort: port(env, 'SINK_METRICS_PORT', 9465),
    naming: oneOf(env, 'SINK_NAMING', ['native', 'fivetran'] as const, 'native'),
  };
}

function common(env: Env): CommonConfig {
  const brokers = list(env, 'KAFKA_BROKERS');
  if (!brokers || brokers.length === 0) throw new ConfigError('KAFKA_BROKERS: required, e.g. KAFKA_BROKERS=localhost:9092');
  for (const b of brokers) {
    if (!/^[^\s:/]+:\d+$/.test(b)) throw new ConfigError(`KAFKA_BROKERS: "${b}" is not host:port`);
  }
  const prefix = env.TOPIC_PREFIX || 'pipedrive';
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new ConfigError(`TOPIC_PREFIX: "${prefix}" may only hold letters, digits, _ and -`);
  const name = env.CONNECTOR_NAME || 'pipedrive-cdc';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigError(`CONNECTOR_NAME: "${name}" may only hold letters, digits, _ . and -`);
  const registryUrl = url(env, 'SCHEMA_REGISTRY_URL');
  return {
    kafkaBrokers: brokers,
    kafkaSecurity: loadKafkaSecurity(env),
    schemaRegistryUrl: registryUrl,
    schemaRegistryAuth: loadRegistryAuth(env, registryUrl),
    topicPrefix: prefix,
    connectorName: name,
  };
}

/**
 * TOKEN_BUDGET_SHARE: more than 0 (polling must be allowed something), at most 1 (the whole budget), `off`,
 * or `auto` (the default): 10 % while the poll interval is the default one, none when POLL_INTERVAL_MS is
 * set — an interval asked for explicitly is kept, as without pacing (the governor's reserve still holds).
 */
export const DEFAULT_TOKEN_BUDGET_SHARE = 0.1;
function budgetShare(env: Env): number | undefined {
  const v = env['TOKEN_BUDGET_SHARE'];
  if (v?.trim() === 'off') return undefined;
  if (v === undefined || v.trim() === '' || v.trim() === 'auto') return env['POLL_INTERVAL_MS']?.trim() ? undefined : DEFAULT_TOKEN_BUDGET_SHARE;
  const n = share(env, 'TOKEN_BUDGET_SHARE', DEFAULT_TOKEN_BUDGET_SHARE);
  if (n === 0) throw new ConfigError(`TOKEN_BUDGET_SHARE: "${v}" must be more than 0 (e.g. 0.1 for 10 % of the daily token budget; 1 for all of it; off for no pacing; auto for 10 % unless POLL_INTERVAL_MS is set)`);
  return n;
}

/** A printable summary: secrets left out, every URL through `redactUrl`. */
export function describeConfig(c: CommonConfig & Partial<ProducerConfig & SinkConfig>): string {
  const shown: Record<string, unknown> = {
    ...c,
    kafkaSecurity: describeKafkaSecurity(c.kafkaSecurity),
    schemaRegistryUrl: redactUrl(c.schemaRegistryUrl),
    schemaRegistryAuth: describeRegistryAuth(c.schemaRegistryAuth),
  };
  if (typeof c.databaseUrl === 'string') shown.databaseUrl = redactUrl(c.databaseUrl);
  if (c.pipedrive) shown.pipedrive = describePipedrive(c.pipedrive);
  if (c.rules) shown.rules = c.rules.spec;
  if (c.webhooks) shown.webhooks = describeWebhookSettings(c.webhooks);
  if (c.adminApi) shown.adminApi = { port: c.adminApi.port, tokens: c.adminApi.tokens.map((t) => t.name) };
  return JSON.stringify(shown);
}

/** The Pipedrive settings without their secrets (the `auth` command prints this too). */
export function describePipedrive(p: PipedriveSettings): Record<string, unknown> {
  const proxy = Object.fromEntries(
    Object.entries({ httpsProxy: p.proxy.httpsProxy, httpProxy: p.proxy.httpProxy }).flatMap(([k, v]) => (v ? [[k, redactUrl(v)]] : [])),
  );
  if (p.proxy.noProxy) proxy.noProxy = p.proxy.noProxy;
  const a = p.auth;
  const auth =
    a.kind === 'api-token'
      ? { kind: a.kind, baseUrl: redactUrl(a.baseUrl) }
      : { kind: a.kind, clientId: a.clientId, tokenFile: a.tokenFile, oauthUrl: redactUrl(a.oauthUrl), ...(a.redirectUri ? { redirectUri: redactUrl(a.redirectUri) } : {}) };
  return { auth, proxy, allowInsecureHttp: p.allowInsecureHttp };
}
