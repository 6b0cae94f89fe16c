/**
 * The supervisor of the process's connectors: it owns every running producer — the configuration's
 * (file or environment) and those created through the admin API — so connectors can be added and removed
 * while the process runs, and `list()` shows them all. API-created connectors are kept in the connector
 * store (a compacted topic, secrets sealed) and started again from it at the next start. An OAuth
 * connector waits (`awaiting-authorization`) until the browser comes back to the admin API's callback with
 * the state handed out here: one-time, expiring, compared by digest.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConnectorStatus } from './admin/status.ts';
import type { CreateConnectorRequest } from './admin/connector-request.ts';
import { catalog } from './catalog/index.ts';
import { ConfigError, type Env } from './config-env.ts';
import { loadSyncRules } from './config-rules.ts';
import { definedWebhookSettings } from './config-webhooks.ts';
import { describeConfig, type ProducerConfig } from './config.ts';
import { DefinitionTokenStorage, type ConnectorDefinition, type ConnectorStore } from './connector-store.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { storedFromGrant } from './pipedrive/oauth.ts';
import { authorizeUrlOf, DEFAULT_OAUTH_URL, OAuthGrantError, OAuthServer, type TokenGrant } from './pipedrive/oauth-server.ts';
import type { StoredTokens } from './pipedrive/token-store.ts';
import { insecureReason, pipedriveDispatcher } from './pipedrive/transport.ts';
import type { ProducerRun, ProducerRunOptions } from './producer.ts';
import { SECRETS_KEY_SETTING } from './secrets-box.ts';

/** How long an authorize URL can be used (Pipedrive's codes then live 5 more minutes, used at once here). */
export const AUTHORIZATION_TTL_MS = 15 * 60_000;

/** A request the supervisor refuses: the HTTP status and error code the admin API answers with. */
export class ConnectorRequestError extends Error {
  override name = 'ConnectorRequestError';
  constructor(
    readonly status: 400 | 404 | 409 | 502,
    readonly code: 'bad-request' | 'not-found' | 'conflict' | 'not-configured' | 'invalid-state' | 'authorization-failed',
    message: string,
  ) {
    super(message);
  }
}

export interface Outcome {
  readonly name: string;
  readonly failed: ReadonlyMap<string, Error>;
  readonly error: Error | undefined;
}

export type Created =
  | { readonly kind: 'started'; readonly status: ConnectorStatus }
  | { readonly kind: 'authorize'; readonly name: string; readonly authorizeUrl: string; readonly state: string; readonly expiresAt: string };

export interface ConnectorsOptions {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** The logger of one connector's lines. */
  readonly logFor: (connector: string) => Logger;
  readonly untilCaughtUp: boolean;
  readonly start: (config: ProducerConfig, opts: ProducerRunOptions) => ProducerRun;
  /** Shared settings (Kafka, registry, schedule) of connectors created through the API: the first configured one's. */
  readonly template: ProducerConfig;
  /** Where API-created connectors are kept; without it (no admin API) none can be created. */
  readonly store?: ConnectorStore;
  /** HASH_SALT(_FILE) for the rules of API-created connectors. */
  readonly env?: Env;
  readonly now?: () => number;
}

interface Entry {
  readonly name: string;
  readonly origin: 'config' | 'api';
  readonly config: ProducerConfig;
  def: ConnectorDefinition | undefined;
  run: ProducerRun | undefined;
  removed: boolean;
}

export class Connectors {
  private readonly entries = new Map<string, Entry>();
  /** Every run there was (of removed connectors too, and each run of one authorized again), so `settled` waits for all. */
  private readonly ran: Array<{ readonly entry: Entry; readonly outcome: Promise<Outcome> }> = [];
  private readonly now: () => number;

  constructor(private readonly opts: ConnectorsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Starts a connector of the configuration. */
  startConfigured(config: ProducerConfig): void {
    const entry: Entry = { name: config.connectorName, origin: 'config', config, def: undefined, run: undefined, removed: false };
    this.entries.set(entry.name, entry);
    this.launch(entry);
  }

  /** Starts the connectors read from the store (those awaiting authorization wait again). */
  startStored(definitions: readonly ConnectorDefinition[]): void {
    const store = this.opts.store;
    if (!store) return;
    for (const def of definitions) {
      if (this.entries.has(def.name)) {
        this.opts.log('stored-connector-skipped', { connector: def.name, reason: 'a connector of the configuration has this name', topic: store.topic });
        continue;
      }
      let config: ProducerConfig;
      try {
        config = this.configOf(def);
      } catch (err) {
        this.opts.log('stored-connector-skipped', { connector: def.name, reason: (err as Error).message, topic: store.topic });
        continue;
      }
      const entry: Entry = { name: def.name, origin: 'api', config, def, run: undefined, removed: false };
      this.entries.set(entry.name, entry);
      if (def.pipedrive.kind === 'api-token' || def.pipedrive.tokens) {
        try {
          this.launch(entry);
        } catch (err) {
          // e.g. stored tokens whose api_domain this process may no longer reach: the others still start.
          this.opts.log('connector-failed', { connector: def.name, error: (err as Error).message });
        }
      } else this.opts.log('connector-awaiting-authorization', { connector: def.name });
    }
  }

  list(): ConnectorStatus[] {
    return [...this.entries.values()].map((e) => this.statusOf(e));
  }

  /** The connector's running producer (undefined: no such connector, removed, or awaiting authorization). */
  runOf(name: string): ProducerRun | undefined {
    const e = this.entries.get(name);
    return e && !e.removed ? e.run : undefined;
  }

  /** The running producers, by connector name. */
  running(): Array<{ readonly name: string; readonly run: ProducerRun }> {
    return [...this.entries.values()].flatMap((e) => (e.run && !e.removed ? [{ name: e.name, run: e.run }] : []));
  }

  /** Whether the connector was created through the API (undefined: no such connector). */
  origin(name: string): 'config' | 'api' | undefined {
    return this.entries.get(name)?.origin;
  }

  /** Creates a connector: started at once with an API token, awaiting the browser with OAuth. */
  async create(req: CreateConnectorRequest, defaultRedirectUri: string, by?: string): Promise<Created> {
    const store = this.writableStore();
    const topicPrefix = req.topicPrefix ?? req.name;
    const clash = this.entries.get(req.name);
    if (clash) throw new ConnectorRequestError(409, 'conflict', `a connector named "${req.name}" exists already${clash.origin === 'config' ? ' (in the configuration)' : ''}; choose another name, or DELETE /v1/connectors/${req.name} first`);
    const prefixClash = [...this.entries.values()].find((e) => e.config.topicPrefix === topicPrefix);
    if (prefixClash) throw new ConnectorRequestError(409, 'conflict', `topicPrefix "${topicPrefix}" is used by connector "${prefixClash.name}"; each connector needs its own`);
    const p = req.pipedrive;
    const def: ConnectorDefinition = {
      name: req.name,
      topicPrefix,
      tables: req.tables,
      rules: req.rules as Record<string, unknown> | undefined,
      createdAt: new Date(this.now()).toISOString(),
      pipedrive: p.oauth
        ? { kind: 'oauth', clientId: p.oauth.clientId, clientSecret: p.oauth.clientSecret, oauthUrl: p.oauth.oauthUrl ?? DEFAULT_OAUTH_URL, redirectUri: p.oauth.redirectUri, tokens: undefined, pending: undefined }
        : { kind: 'api-token', baseUrl: p.baseUrl ?? 'https://api.pipedrive.com', apiToken: p.apiToken! },
      webhooks: req.webhooks && {
        publicUrl: req.webhooks.publicUrl,
        port: req.webhooks.port ?? 9480,
        host: req.webhooks.host ?? '0.0.0.0',
        user: req.webhooks.user ?? `pipedrive-cdc-${req.name}`,
        // Generated once and kept (sealed): a restart reuses the registered webhooks.
        password: randomBytes(24).toString('hex'),
      },
    };
    const config = this.configOf(def);
    const w = config.webhooks;
    const hookClash = w && [...this.entries.values()].find((e) => e.config.webhooks && (e.config.webhooks.port === w.port || e.config.webhooks.publicUrl === w.publicUrl));
    if (hookClash) throw new ConnectorRequestError(409, 'conflict', `webhooks: connector "${hookClash.name}" uses this port or public URL already; each connector with webhooks needs its own webhooks.port and webhooks.publicUrl`);
    // Reserved before the first await: a second request with the same name gets 409, not a race.
    const entry: Entry = { name: def.name, origin: 'api', config, def, run: undefined, removed: false };
    this.entries.set(entry.name, entry);
    try {
      if (def.pipedrive.kind === 'api-token') {
        await store.put(def);
        this.opts.log('connector-created', { connector: def.name, auth: 'api-token', topic: store.topic, by: by ?? null });
        this.launch(entry);
        return { kind: 'started', status: this.statusOf(entry) };
      }
      const started = await this.beginAuthorization(entry, defaultRedirectUri, by);
      this.opts.log('connector-created', { connector: def.name, auth: 'oauth', topic: store.topic, by: by ?? null });
      return started;
    } catch (err) {
      this.entries.delete(entry.name);
      throw err;
    }
  }

  /** A new authorize URL for an OAuth connector created through the API (again after a revoked grant). */
  async authorize(name: string, defaultRedirectUri: string, by?: string): Promise<Created> {
    const entry = this.entries.get(name);
    if (!entry) throw notFound(name);
    if (entry.def?.pipedrive.kind !== 'oauth') throw new ConnectorRequestError(409, 'conflict', `connector "${name}" does not use OAuth created through the API; nothing to authorize`);
    return this.beginAuthorization(entry, defaultRedirectUri, by);
  }

  /** The browser came back: check the state (once), exchange the code, keep the tokens, start the connector. */
  async completeAuthorization(q: { state?: string; code?: string; error?: string }): Promise<{ connector: string; status: ConnectorStatus }> {
    const store = this.writableStore();
    if (!q.state) throw new ConnectorRequestError(400, 'invalid-state', 'the callback carries no state; open the authorize URL the admin API returned');
    const digest = sha256(q.state);
    const entry = [...this.entries.values()].find((e) => e.def?.pipedrive.kind === 'oauth' && e.def.pipedrive.pending && sameDigest(e.def.pipedrive.pending.stateSha256, digest));
    const def = entry?.def;
    if (!entry || def?.pipedrive.kind !== 'oauth' || !def.pipedrive.pending) {
      throw new ConnectorRequestError(400, 'invalid-state', 'unknown or already used state; start the authorization again (POST /v1/connectors/{connector}/authorize)');
    }
    const { pending } = def.pipedrive;
    // One use only: forgotten (here, synchronously, and in the store) before anything else happens.
    entry.def = { ...def, pipedrive: { ...def.pipedrive, pending: undefined } };
    await store.put(entry.def);
    if (Date.parse(pending.expiresAt) < this.now()) throw new ConnectorRequestError(400, 'invalid-state', `the authorization of connector "${entry.name}" expired at ${pending.expiresAt}; start it again (POST /v1/connectors/${entry.name}/authorize)`);
    if (q.error !== undefined) {
      const said = /^[a-z_]{1,40}$/.test(q.error) ? q.error : 'an error';
      throw new ConnectorRequestError(400, 'authorization-failed', `Pipedrive answered ${said}: access was not granted to connector "${entry.name}"; start the authorization again (POST /v1/connectors/${entry.name}/authorize)`);
    }
    if (!q.code) throw new ConnectorRequestError(400, 'bad-request', 'the callback carries no code');
    const oauth = def.pipedrive;
    const dispatcher = pipedriveDispatcher({ proxy: this.opts.template.pipedrive.proxy });
    let grant: TokenGrant;
    try {
      grant = await new OAuthServer({ oauthUrl: oauth.oauthUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret, dispatcher }).exchangeCode(q.code, pending.redirectUri);
    } catch (err) {
      if (err instanceof OAuthGrantError) throw new ConnectorRequestError(400, 'authorization-failed', `${err.message}; start the authorization again (a code works once, for 5 minutes)`);
      throw new ConnectorRequestError(502, 'authorization-failed', (err as Error).message);
    } finally {
      await dispatcher.close().catch(() => undefined);
    }
    let tokens: StoredTokens;
    try {
      tokens = storedFromGrant(grant, oauth.clientId, this.now(), 'https://api.pipedrive.com');
    } catch (err) {
      throw new ConnectorRequestError(502, 'authorization-failed', (err as Error).message);
    }
    const insecure = insecureReason(tokens.apiDomain, 'the OAuth api_domain', this.opts.template.pipedrive.allowInsecureHttp);
    if (insecure) throw new ConnectorRequestError(400, 'authorization-failed', insecure);
    entry.def = { ...entry.def, pipedrive: { ...oauth, pending: entry.def.pipedrive.kind === 'oauth' ? entry.def.pipedrive.pending : undefined, tokens } };
    await store.put(entry.def);
    this.opts.log('oauth-authorized', { connector: entry.name, scope: tokens.scope ?? null });
    // Authorized again while running (a revoked grant): the producer starts over with the new tokens.
    if (entry.run) await entry.run.stop();
    this.launch(entry);
    return { connector: entry.name, status: this.statusOf(entry) };
  }

  /** Stops an API-created connector and forgets it (its topics and their data stay). */
  async remove(name: string, by?: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw notFound(name);
    if (entry.origin === 'config') {
      throw new ConnectorRequestError(409, 'conflict', `connector "${name}" is defined in the configuration (file or environment), not through the API; remove it there and restart the producer`);
    }
    const store = this.writableStore();
    // The tombstone first: once the answer says deleted, no restart brings it back.
    await store.remove(name);
    entry.removed = true;
    this.entries.delete(name);
    // Its webhook subscriptions go with it (its topics stay).
    await entry.run?.stop({ removeWebhooks: true });
    this.opts.log('connector-deleted', { connector: name, topic: store.topic, by: by ?? null });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.run?.stop()));
  }

  /** Resolves once every connector that runs (or starts meanwhile) has ended; removed ones are left out. */
  async settled(): Promise<Outcome[]> {
    const done = new Map<Promise<Outcome>, { entry: Entry; outcome: Outcome }>();
    for (;;) {
      const pending = this.ran.filter((r) => !done.has(r.outcome));
      if (pending.length === 0) break;
      for (const r of pending) done.set(r.outcome, { entry: r.entry, outcome: await r.outcome });
    }
    // A connector's last run speaks for it; removed connectors were stopped on purpose.
    const last = new Map<Entry, Outcome>();
    for (const { entry, outcome } of done.values()) last.set(entry, outcome);
    return [...last].filter(([e]) => !e.removed).map(([, o]) => o);
  }

  private launch(entry: Entry): void {
    const log = this.opts.logFor(entry.name);
    log('starting', { config: describeConfig(entry.config) });
    const def = entry.def;
    const store = this.opts.store;
    const tokenStorage =
      def?.pipedrive.kind === 'oauth' && store
        ? new DefinitionTokenStorage(
            `connector "${entry.name}" in topic ${store.topic}`,
            () => (entry.def?.pipedrive.kind === 'oauth' ? entry.def.pipedrive.tokens : undefined),
            async (tokens) => {
              if (entry.def?.pipedrive.kind !== 'oauth') return;
              const next: ConnectorDefinition = { ...entry.def, pipedrive: { ...entry.def.pipedrive, tokens } };
              await store.put(next);
              entry.def = next;
            },
            `authorize it again: POST /v1/connectors/${entry.name}/authorize (or pipedrive-cdc connectors authorize ${entry.name})`,
          )
        : undefined;
    const run = this.opts.start(entry.config, { metrics: this.opts.metrics, log, untilCaughtUp: this.opts.untilCaughtUp, tokenStorage });
    entry.run = run;
    const outcome = run.done.then(
      ({ failed }) => ({ name: entry.name, failed, error: undefined }),
      (error: Error) => {
        log('connector-failed', { error: error.message });
        return { name: entry.name, failed: new Map<string, Error>(), error };
      },
    );
    this.ran.push({ entry, outcome });
  }

  private async beginAuthorization(entry: Entry, defaultRedirectUri: string, by: string | undefined): Promise<Created> {
    const store = this.writableStore();
    const def = entry.def!;
    if (def.pipedrive.kind !== 'oauth') throw new Error('not an OAuth connector');
    const state = randomBytes(24).toString('base64url');
    const expiresAt = new Date(this.now() + AUTHORIZATION_TTL_MS).toISOString();
    const redirectUri = def.pipedrive.redirectUri ?? defaultRedirectUri;
    const next: ConnectorDefinition = { ...def, pipedrive: { ...def.pipedrive, pending: { stateSha256: sha256(state), expiresAt, redirectUri } } };
    await store.put(next);
    entry.def = next;
    this.opts.log('oauth-authorization-started', { connector: entry.name, expiresAt, by: by ?? null });
    return { kind: 'authorize', name: entry.name, authorizeUrl: authorizeUrlOf(def.pipedrive.oauthUrl, def.pipedrive.clientId, redirectUri, state), state, expiresAt };
  }

  /** The producer configuration of a definition: the template's shared settings, the definition's own. */
  private configOf(def: ConnectorDefinition): ProducerConfig {
    const t = this.opts.template;
    const bad = (message: string) => new ConnectorRequestError(400, 'bad-request', message);
    for (const name of def.tables ?? []) if (!catalog.has(name)) throw bad(`tables: unknown table "${name}"; known: ${[...catalog.keys()].join(', ')}`);
    const env = this.opts.env ?? process.env;
    let rules;
    try {
      rules = loadSyncRules({ SYNC_RULES: def.rules ? JSON.stringify(def.rules) : undefined, HASH_SALT: env.HASH_SALT, HASH_SALT_FILE: env.HASH_SALT_FILE });
    } catch (err) {
      if (err instanceof ConfigError) throw bad(err.message.replace(/^SYNC_RULES: /, 'rules: '));
      throw err;
    }
    const tables = (def.tables ?? [...catalog.keys()]).filter((name) => !rules.tableBlocked(name));
    if (tables.length === 0) throw bad('tables: no table is left to sync once the rules blocked theirs');
    const secure = (url: string, field: string) => {
      const why = insecureReason(url, field, t.pipedrive.allowInsecureHttp);
      if (why) throw bad(why);
      return url;
    };
    const p = def.pipedrive;
    const auth =
      p.kind === 'api-token'
        ? { kind: 'api-token' as const, baseUrl: secure(p.baseUrl, 'pipedrive.baseUrl'), apiToken: p.apiToken }
        : { kind: 'oauth' as const, clientId: p.clientId, clientSecret: p.clientSecret, oauthUrl: secure(p.oauthUrl, 'pipedrive.oauth.oauthUrl'), redirectUri: p.redirectUri, tokenFile: `(kept in ${this.opts.store?.topic ?? 'the connectors topic'})` };
    // Webhook settings are per connector (own port and public URL): never the template's, only the definition's.
    let webhooks;
    try {
      webhooks = def.webhooks && definedWebhookSettings(def.webhooks, def.name, t.pipedrive.allowInsecureHttp);
    } catch (err) {
      if (err instanceof ConfigError) throw bad(err.message);
      throw err;
    }
    return { ...t, connectorName: def.name, topicPrefix: def.topicPrefix, tables, rules, pipedrive: { ...t.pipedrive, auth }, webhooks };
  }

  private statusOf(entry: Entry): ConnectorStatus {
    if (entry.run) return entry.run.status();
    return {
      name: entry.name,
      topicPrefix: entry.config.topicPrefix,
      // No run: waiting for the browser, or (its start failed) stopped.
      state: entry.def?.pipedrive.kind === 'oauth' && !entry.def.pipedrive.tokens ? 'awaiting-authorization' : 'stopped',
      schemaChanges: entry.config.rules.policy,
      budget: { dailyTokensRemaining: null, burstRemaining: null, low: false },
      tables: [],
    };
  }

  private writableStore(): ConnectorStore {
    const store = this.opts.store;
    if (!store || !store.canSeal) {
      throw new ConnectorRequestError(
        409,
        'not-configured',
        `${SECRETS_KEY_SETTING} is not set on the producer: connectors created through the API keep their secrets encrypted with it; set it (32 random bytes, e.g. openssl rand -base64 32) and restart`,
      );
    }
    return store;
  }
}

function notFound(name: string): ConnectorRequestError {
  return new ConnectorRequestError(404, 'not-found', `no connector named "${name}"`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
