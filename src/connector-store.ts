/**
 * The connectors created through the admin API, kept in a compacted Kafka topic (CONNECTORS_TOPIC, default
 * `pipedrive-cdc._connectors`): one record per connector keyed by its name, a tombstone when deleted. The
 * topic is read at start, so a restarted process — or another one on the same cluster — runs them again.
 * Every secret in a record (API token, client secret, OAuth tokens, webhook password) is sealed with CONNECTOR_SECRETS_KEY
 * (secrets-box.ts); everything else is plain JSON an operator can read with any Kafka tool.
 */
import { z } from 'zod';
import { ConfigError, type Env } from './config-env.ts';
import type { ProducerConfig } from './config.ts';
import type { KeyedLog } from './kafka/keyed-log.ts';
import type { Logger } from './observe/log.ts';
import type { StoredTokens, TokenStorage } from './pipedrive/token-store.ts';
import { withRetries } from './retry.ts';
import { loadSecretsBox, SECRETS_KEY_SETTING, type SecretsBox } from './secrets-box.ts';

export const DEFAULT_CONNECTORS_TOPIC = 'pipedrive-cdc._connectors';

/** An authorization under way: the state's digest (the state itself goes only to the user) and its expiry. */
export interface PendingAuthorization {
  readonly stateSha256: string;
  readonly expiresAt: string;
  readonly redirectUri: string;
}

export type DefinedAuth =
  | { readonly kind: 'api-token'; readonly baseUrl: string; readonly apiToken: string }
  | {
      readonly kind: 'oauth';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly oauthUrl: string;
      readonly redirectUri: string | undefined;
      /** Undefined until the authorization completed. */
      readonly tokens: StoredTokens | undefined;
      readonly pending: PendingAuthorization | undefined;
    };

/** A connector as created through the API, secrets in clear (in memory only). */
export interface ConnectorDefinition {
  readonly name: string;
  readonly topicPrefix: string;
  readonly tables: readonly string[] | undefined;
  /** The sync rules object (config-rules.ts's schema), as given. */
  readonly rules: Record<string, unknown> | undefined;
  readonly createdAt: string;
  readonly pipedrive: DefinedAuth;
  /** Webhook receiver settings (issue 14); the password generated at create time. */
  readonly webhooks?: DefinedWebhooks | undefined;
}

export interface DefinedWebhooks {
  readonly publicUrl: string;
  readonly port: number;
  readonly host: string;
  readonly user: string;
  readonly password: string;
}

const sealed = z.string().startsWith('v1.');
const recordSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  topicPrefix: z.string(),
  tables: z.array(z.string()).nullable(),
  rules: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  pipedrive: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('api-token'), baseUrl: z.string(), apiToken: sealed }),
    z.object({
      kind: z.literal('oauth'),
      clientId: z.string(),
      clientSecret: sealed,
      oauthUrl: z.string(),
      redirectUri: z.string().nullable(),
      tokens: sealed.nullable(),
      pending: z.object({ stateSha256: z.string(), expiresAt: z.string(), redirectUri: z.string() }).nullable(),
    }),
  ]),
  // Absent in records written before webhooks could be set through the API.
  webhooks: z.object({ publicUrl: z.string(), port: z.number(), host: z.string(), user: z.string(), password: sealed }).nullable().optional(),
});

export class ConnectorStore {
  constructor(
    private readonly log: KeyedLog,
    private readonly box: SecretsBox | undefined,
  ) {}

  get topic(): string {
    return this.log.topic;
  }

  /** Whether secrets can be sealed (CONNECTOR_SECRETS_KEY is set). */
  get canSeal(): boolean {
    return this.box !== undefined;
  }

  /** The definitions in the topic; a record that cannot be read stops the process with what to do. */
  async load(): Promise<ConnectorDefinition[]> {
    const out: ConnectorDefinition[] = [];
    for (const [name, value] of await this.log.readAll()) {
      if (value === null) continue;
      if (!this.box) {
        throw new ConfigError(`${SECRETS_KEY_SETTING}: required — the topic ${this.topic} holds connectors created through the admin API (e.g. "${name}") and their secrets are sealed with that key`);
      }
      out.push(this.decode(name, value, this.box));
    }
    return out;
  }

  async put(def: ConnectorDefinition): Promise<void> {
    if (!this.box) throw new ConfigError(`${SECRETS_KEY_SETTING}: not set`);
    await this.log.put(def.name, Buffer.from(JSON.stringify(encode(def, this.box)), 'utf8'));
  }

  async remove(name: string): Promise<void> {
    await this.log.put(name, null);
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private decode(name: string, value: Buffer, box: SecretsBox): ConnectorDefinition {
    let raw: unknown;
    try {
      raw = JSON.parse(value.toString('utf8'));
    } catch {
      raw = undefined;
    }
    const parsed = recordSchema.safeParse(raw);
    if (!parsed.success || parsed.data.name !== name) {
      throw new ConfigError(`${CONNECTORS_TOPIC_SETTING} ${this.topic}: the record of connector "${name}" is not one this version wrote; delete it (a tombstone for key "${name}") and create the connector again`);
    }
    const r = parsed.data;
    const p = r.pipedrive;
    const open = (text: string, field: string) => box.open(text, `${name}/${field}`);
    return {
      name,
      topicPrefix: r.topicPrefix,
      tables: r.tables ?? undefined,
      rules: r.rules ?? undefined,
      createdAt: r.createdAt,
      pipedrive:
        p.kind === 'api-token'
          ? { kind: 'api-token', baseUrl: p.baseUrl, apiToken: open(p.apiToken, 'apiToken') }
          : {
              kind: 'oauth',
              clientId: p.clientId,
              clientSecret: open(p.clientSecret, 'clientSecret'),
              oauthUrl: p.oauthUrl,
              redirectUri: p.redirectUri ?? undefined,
              tokens: p.tokens === null ? undefined : (JSON.parse(open(p.tokens, 'tokens')) as StoredTokens),
              pending: p.pending ?? undefined,
            },
      webhooks: r.webhooks ? { ...r.webhooks, password: open(r.webhooks.password, 'webhooks.password') } : undefined,
    };
  }
}

export const CONNECTORS_TOPIC_SETTING = 'CONNECTORS_TOPIC';

function encode(def: ConnectorDefinition, box: SecretsBox): z.infer<typeof recordSchema> {
  const seal = (text: string, field: string) => box.seal(text, `${def.name}/${field}`);
  const p = def.pipedrive;
  return {
    version: 1,
    name: def.name,
    topicPrefix: def.topicPrefix,
    tables: def.tables ? [...def.tables] : null,
    rules: def.rules ?? null,
    createdAt: def.createdAt,
    pipedrive:
      p.kind === 'api-token'
        ? { kind: 'api-token', baseUrl: p.baseUrl, apiToken: seal(p.apiToken, 'apiToken') }
        : {
            kind: 'oauth',
            clientId: p.clientId,
            clientSecret: seal(p.clientSecret, 'clientSecret'),
            oauthUrl: p.oauthUrl,
            redirectUri: p.redirectUri ?? null,
            tokens: p.tokens ? seal(JSON.stringify(p.tokens), 'tokens') : null,
            pending: p.pending ?? null,
          },
    webhooks: def.webhooks ? { ...def.webhooks, password: seal(def.webhooks.password, 'webhooks.password') } : null,
  };
}

/**
 * The OAuth tokens of an API-created connector, for OAuthAuth: read from the definition in memory,
 * written (rotated refresh tokens) to the topic, sealed, before OAuthAuth uses them.
 */
export class DefinitionTokenStorage implements TokenStorage {
  constructor(
    readonly path: string,
    private readonly current: () => StoredTokens | undefined,
    private readonly save: (tokens: StoredTokens) => Promise<void>,
    readonly reauthorize: string,
  ) {}

  read(): StoredTokens | undefined {
    return this.current();
  }

  write(tokens: StoredTokens): Promise<void> {
    return this.save(tokens);
  }

  readableByOthers(): boolean {
    return false;
  }
}

/**
 * The store of this process (CONNECTORS_TOPIC, CONNECTOR_SECRETS_KEY(_FILE)) on the configuration's Kafka
 * cluster, created when missing; waits out a Kafka outage at start like the producer does.
 */
export async function openConnectorStore(config: ProducerConfig, log: Logger, env: Env = process.env): Promise<{ store: ConnectorStore; definitions: ConnectorDefinition[] }> {
  const topic = env[CONNECTORS_TOPIC_SETTING] || DEFAULT_CONNECTORS_TOPIC;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new ConfigError(`${CONNECTORS_TOPIC_SETTING}: "${topic}" is not a Kafka topic name (letters, digits, . _ and -)`);
  const box = loadSecretsBox(env);
  const { openKeyedLog } = await import('./kafka/keyed-log.ts');
  return withRetries(
    async () => {
      const keyed = await openKeyedLog({
        brokers: config.kafkaBrokers,
        security: config.kafkaSecurity,
        topic,
        clientId: `${config.connectorName}.connectors`,
        replicationFactor: config.topicReplicationFactor,
        minInsyncReplicas: config.topicMinInsyncReplicas,
        log,
      });
      const store = new ConnectorStore(keyed, box);
      try {
        return { store, definitions: await store.load() };
      } catch (err) {
        await keyed.close();
        throw err;
      }
    },
    { dependency: 'kafka', what: `reading the connectors created through the admin API (${topic})`, log },
  );
}
