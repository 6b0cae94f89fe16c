import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadProducerConfig, type ProducerConfig } from '../src/config.ts';
import { ConnectorStore } from '../src/connector-store.ts';
import { AUTHORIZATION_TTL_MS, Connectors, ConnectorRequestError } from '../src/connectors.ts';
import type { KeyedLog } from '../src/kafka/keyed-log.ts';
import { silentLogger } from '../src/observe/log.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import type { ProducerRun } from '../src/producer.ts';
import { SecretsBox } from '../src/secrets-box.ts';

/** The connectors topic in memory: every record kept in order, as the log's bytes. */
function memoryLog(): KeyedLog & { records: Array<[string, Buffer | null]> } {
  const records: Array<[string, Buffer | null]> = [];
  return {
    topic: 'mem._connectors',
    records,
    async readAll() {
      return new Map(records);
    },
    async put(key, value) {
      records.push([key, value]);
    },
    async close() {},
  };
}

const template = loadProducerConfig({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://registry:8081', PIPEDRIVE_API_TOKEN: 'file-token', CONNECTOR_NAME: 'filed', TOPIC_PREFIX: 'filed', TABLES: 'deal', WEBHOOK_PUBLIC_URL: 'https://cdc.example.com/filed', WEBHOOK_PASSWORD: 'filed-webhook-secret-0123456789' });

function supervisor(log: KeyedLog, box: SecretsBox | undefined, clock = { ms: Date.parse('2026-06-01T10:00:00Z') }) {
  const started: ProducerConfig[] = [];
  const stopped: Array<{ connector: string; removeWebhooks: boolean }> = [];
  const start = (config: ProducerConfig): ProducerRun => {
    started.push(config);
    let stop!: () => void;
    const done = new Promise<{ failed: Map<string, Error> }>((r) => (stop = () => r({ failed: new Map() })));
    return {
      done,
      async stop(opts) {
        stopped.push({ connector: config.connectorName, removeWebhooks: opts?.removeWebhooks === true });
        stop();
      },
      resync: () => Promise.reject(new Error('not asked for in these tests')),
      get settings(): never {
        throw new Error('the supervisor never reads a connector\'s settings');
      },
      status: () => ({ name: config.connectorName, topicPrefix: config.topicPrefix, state: 'running', schemaChanges: config.rules.policy, budget: { dailyTokensRemaining: null, burstRemaining: null, low: false }, tables: [] }),
    };
  };
  const connectors = new Connectors({ metrics: createMetrics('producer'), log: silentLogger, logFor: () => silentLogger, untilCaughtUp: false, start, template, store: new ConnectorStore(log, box), env: {}, now: () => clock.ms });
  connectors.startConfigured(template);
  return { connectors, started, stopped, clock };
}

const refusal = async (p: Promise<unknown>): Promise<ConnectorRequestError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectorRequestError);
  return err as ConnectorRequestError;
};

describe('connector supervisor', () => {
  const box = new SecretsBox(randomBytes(32));

  it('starts an API-token connector at once, keeps it sealed, and starts it again from the store after a restart', async () => {
    const log = memoryLog();
    const { connectors, started } = supervisor(log, box);
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const created = await connectors.create({ name: 'acme', pipedrive: { apiToken: token, baseUrl: 'https://acme.pipedrive.com' }, tables: ['deal', 'person'] }, 'http://127.0.0.1:9470/v1/oauth/callback');
    expect(created.kind).toBe('started');
    const config = started.find((c) => c.connectorName === 'acme')!;
    expect(config).toMatchObject({ topicPrefix: 'acme', tables: ['deal', 'person'], kafkaBrokers: ['k:9092'], pipedrive: { auth: { kind: 'api-token', apiToken: token, baseUrl: 'https://acme.pipedrive.com' } } });
    expect(connectors.list().map((c) => c.name)).toEqual(['filed', 'acme']);
    expect(log.records.map(([, v]) => String(v)).join('\n')).not.toContain(token);

    expect((await refusal(connectors.create({ name: 'acme', pipedrive: { apiToken: 'x' } }, ''))).status).toBe(409);
    expect((await refusal(connectors.create({ name: 'other', topicPrefix: 'filed', pipedrive: { apiToken: 'x' } }, ''))).message).toContain('topicPrefix "filed" is used by connector "filed"');
    expect((await refusal(connectors.create({ name: 'x', pipedrive: { apiToken: 'x', baseUrl: 'http://pipedrive.example' } }, ''))).message).toContain('plain http to another host');

    const restarted = supervisor(log, box);
    restarted.connectors.startStored(await new ConnectorStore(log, box).load());
    expect(restarted.started.find((c) => c.connectorName === 'acme')!.pipedrive.auth).toMatchObject({ apiToken: token });
    // Without the key the stored connectors cannot be read: a clear error, not a silent skip.
    await expect(new ConnectorStore(log, undefined).load()).rejects.toThrow(/CONNECTOR_SECRETS_KEY: required — the topic mem._connectors holds connectors/);
    await expect(new ConnectorStore(log, new SecretsBox(randomBytes(32))).load()).rejects.toThrow(/sealed with another CONNECTOR_SECRETS_KEY/);
  });

  it('OAuth: awaiting authorization; a wrong state, an expired one and a used one are refused', async () => {
    const log = memoryLog();
    const { connectors, started, clock } = supervisor(log, box);
    const created = await connectors.create({ name: 'oa', pipedrive: { oauth: { clientId: 'cid', clientSecret: 'client-secret-1', oauthUrl: 'https://oauth.example' } } }, 'http://127.0.0.1:9470/v1/oauth/callback');
    if (created.kind !== 'authorize') throw new Error('expected an authorization');
    const u = new URL(created.authorizeUrl);
    expect(`${u.origin}${u.pathname}`).toBe('https://oauth.example/oauth/authorize');
    expect(Object.fromEntries(u.searchParams)).toEqual({ client_id: 'cid', redirect_uri: 'http://127.0.0.1:9470/v1/oauth/callback', state: created.state });
    expect(Date.parse(created.expiresAt) - clock.ms).toBe(AUTHORIZATION_TTL_MS);
    expect(connectors.list().find((c) => c.name === 'oa')!.state).toBe('awaiting-authorization');
    expect(started.map((c) => c.connectorName)).toEqual(['filed']);
    const stored = log.records.map(([, v]) => String(v)).join('\n');
    expect(stored).not.toContain('client-secret-1');
    expect(stored).not.toContain(created.state);

    expect((await refusal(connectors.completeAuthorization({ state: 'forged', code: 'c' }))).code).toBe('invalid-state');
    expect((await refusal(connectors.completeAuthorization({ code: 'c' }))).code).toBe('invalid-state');
    clock.ms += AUTHORIZATION_TTL_MS + 1;
    expect((await refusal(connectors.completeAuthorization({ state: created.state, code: 'c' }))).message).toMatch(/expired at .*POST \/v1\/connectors\/oa\/authorize/);
    expect((await refusal(connectors.completeAuthorization({ state: created.state, code: 'c' }))).message).toContain('unknown or already used state');
    // A new authorization gives a new state; the old one stays dead.
    const again = await connectors.authorize('oa', 'http://127.0.0.1:9470/v1/oauth/callback');
    expect(again.kind === 'authorize' && again.state).not.toBe(created.state);
  });

  it('webhooks given at creation: their own receiver, a generated password kept sealed and read back after a restart', async () => {
    const log = memoryLog();
    const { connectors, started } = supervisor(log, box);
    const webhooks = { publicUrl: 'https://cdc.example.com/hooks/acme', port: 9481, host: '127.0.0.1' };
    await connectors.create({ name: 'acme', pipedrive: { apiToken: 'x' }, webhooks }, '');
    const w = started.find((c) => c.connectorName === 'acme')!.webhooks!;
    expect(w).toMatchObject({ ...webhooks, user: 'pipedrive-cdc-acme', generatedPassword: false });
    expect(w.password).toMatch(/^[0-9a-f]{48}$/);
    const stored = log.records.map(([, v]) => String(v)).join('\n');
    expect(stored).not.toContain(w.password);
    expect(stored).toMatch(/"webhooks":\{[^}]*"password":"v1\./);
    const restarted = supervisor(log, box);
    restarted.connectors.startStored(await new ConnectorStore(log, box).load());
    expect(restarted.started.find((c) => c.connectorName === 'acme')!.webhooks).toEqual(w);

    // The configured connector's receiver port (9480), another's public URL, a bad URL: refused, naming the field.
    expect((await refusal(connectors.create({ name: 'b', pipedrive: { apiToken: 'x' }, webhooks: { publicUrl: 'https://cdc.example.com/hooks/b' } }, ''))).message).toContain('connector "filed" uses this port or public URL');
    expect((await refusal(connectors.create({ name: 'c', pipedrive: { apiToken: 'x' }, webhooks: { ...webhooks, port: 9482 } }, ''))).message).toContain('connector "acme" uses this port or public URL');
    const plain = await refusal(connectors.create({ name: 'd', pipedrive: { apiToken: 'x' }, webhooks: { publicUrl: 'http://cdc.example.com/hooks/d', port: 9483 } }, ''));
    expect(plain).toMatchObject({ status: 400 });
    expect(plain.message).toMatch(/^webhooks\.publicUrl: .* is plain http/);
  });

  it('refuses creating without CONNECTOR_SECRETS_KEY and deleting a connector of the configuration; deletes an API one with a tombstone', async () => {
    const none = supervisor(memoryLog(), undefined);
    const err = await refusal(none.connectors.create({ name: 'n', pipedrive: { apiToken: 'x' } }, ''));
    expect(err).toMatchObject({ status: 409, code: 'not-configured' });
    expect(err.message).toContain('CONNECTOR_SECRETS_KEY is not set');

    const log = memoryLog();
    const { connectors, started, stopped } = supervisor(log, box);
    expect((await refusal(connectors.remove('filed'))).message).toContain('defined in the configuration');
    expect((await refusal(connectors.remove('nosuch'))).status).toBe(404);
    await connectors.create({ name: 'gone', pipedrive: { apiToken: 'x' } }, '');
    // An API connector does not inherit the configured connector's webhook receiver (its port, its URL).
    expect(started.find((c) => c.connectorName === 'gone')!.webhooks).toBeUndefined();
    await connectors.remove('gone');
    // Removed: stopped with its webhook subscriptions deleted.
    expect(stopped).toEqual([{ connector: 'gone', removeWebhooks: true }]);
    expect(log.records.at(-1)).toEqual(['gone', null]);
    expect(connectors.list().map((c) => c.name)).toEqual(['filed']);
    expect(await new ConnectorStore(log, box).load()).toEqual([]);
    // The runner's wait: every run ended, the removed one left out of the report.
    await connectors.stopAll();
    expect((await connectors.settled()).map((o) => o.name)).toEqual(['filed']);
  });
});
