import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.ts';
import { loadProducerConfigs, loadSinkConfigFrom } from '../src/config-file.ts';
import { tableByName } from '../src/catalog/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcdc-config-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `config-${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const TWO = `
kafka:
  brokers: [k1:9092, k2:9092]
schemaRegistry:
  url: http://registry:8081
connectors:
  - name: acme
    pipedrive:
      baseUrl: https://acme.pipedrive.com
      apiToken: acme-secret-token
    tables: [deal, person]
    pollIntervalMs: 60000
  - name: globex
    topicPrefix: gx
    pipedrive:
      baseUrl: https://globex.pipedrive.com
      apiToken: globex-secret-token
    excludeTables: [mail_message, mail_thread]
sink:
  connector: globex
  destination: postgres
  databaseUrl: postgres://sink:pw@db:5432/cdc
`;

describe('configuration file', () => {
  it('one config per connector: shared Kafka and registry, own credentials, prefix, tables and schedule', () => {
    const [acme, globex] = loadProducerConfigs(file(TWO), {});
    expect(acme).toMatchObject({ connectorName: 'acme', topicPrefix: 'acme', tables: ['deal', 'person'], pollIntervalMs: 60_000, kafkaBrokers: ['k1:9092', 'k2:9092'] });
    expect(acme!.pipedrive.auth).toMatchObject({ kind: 'api-token', baseUrl: 'https://acme.pipedrive.com', apiToken: 'acme-secret-token' });
    expect(globex).toMatchObject({ connectorName: 'globex', topicPrefix: 'gx', pollIntervalMs: 30_000, schemaRegistryUrl: 'http://registry:8081' });
    expect(globex!.tables).not.toContain('mail_message');
    expect(globex!.tables).toContain('deal');
    expect(loadSinkConfigFrom(file(TWO), {})).toMatchObject({ destination: 'postgres', topicPrefix: 'gx', connectorName: 'globex', databaseUrl: 'postgres://sink:pw@db:5432/cdc' });
  });

  it('JSON works too, and environment variables override the file', () => {
    const json = file(JSON.stringify({ kafka: { brokers: 'k:9092' }, schemaRegistry: { url: 'http://r:8081' }, connectors: [{ name: 'solo', pipedrive: { apiToken: 't' }, pollIntervalMs: 1000 }] }), 'json');
    const [solo] = loadProducerConfigs(json, { POLL_INTERVAL_MS: '2000', KAFKA_BROKERS: 'other:9092' });
    expect(solo).toMatchObject({ pollIntervalMs: 2000, kafkaBrokers: ['other:9092'], connectorName: 'solo' });
  });

  it.each([
    ['connectors: []', /connectors: at least one connector/],
    ['connectors:\n  - name: a\n    pipedrive: { apiToken: t }\n    tabels: [deal]', /connectors\[0\]: unknown key "tabels"; allowed: name, pipedrive, topicPrefix, tables, /],
    ['connectors:\n  - name: a\n    pipedrive: { apiToken: t, token: x }', /connectors\[0\]\.pipedrive: unknown key "token"; allowed: baseUrl, apiToken, /],
    ['connectors:\n  - name: a b\n    pipedrive: { apiToken: t }', /connectors\[0\]\.name: letters, digits/],
    ['connectors:\n  - name: a\n    pipedrive: { apiToken: t }\n  - name: a\n    pipedrive: { apiToken: u }', /connectors\[1\]\.name: "a" is already used by connectors\[0\]/],
    ['kafka: { brokers: k:9092 }\nschemaRegistry: { url: http://r }\nconnectors:\n  - name: a\n    pipedrive: { apiToken: t }\n    tables: [deal, unicorn]', /connectors\[0\]\.tables: unknown table "unicorn"/],
    ['kafka: { brokers: k:9092 }\nschemaRegistry: { url: http://r }\nconnectors:\n  - name: a\n    pipedrive: { apiToken: t }\n    pollIntervalMs: 99999999999', /connectors\[0\]\.pollIntervalMs: "99999999999" must be a number of milliseconds/],
    ['connectors: [ {', /not valid YAML/],
  ])('%s → an error naming the path and what is allowed', (text, message) => {
    const path = file(text);
    expect(() => loadProducerConfigs(path, {})).toThrow(ConfigError);
    expect(() => loadProducerConfigs(path, {})).toThrow(message);
  });

  it('secrets from files: the database URL of the sink section', () => {
    const secretFile = join(dir, 'database-url');
    writeFileSync(secretFile, 'postgres://sink:from-file@db:5432/cdc\n');
    const path = file(`kafka: { brokers: [k:9092] }\nschemaRegistry: { url: "http://r:8081" }\nconnectors:\n  - name: a\n    pipedrive: { apiToken: t }\nsink:\n  destination: postgres\n  databaseUrlFile: ${secretFile}\n`);
    expect(loadSinkConfigFrom(path, {}).databaseUrl).toBe('postgres://sink:from-file@db:5432/cdc');
  });

  it("the sink section's naming: native by default, fivetran when asked, anything else refused naming the key", () => {
    const base = `kafka: { brokers: [k:9092] }\nschemaRegistry: { url: "http://r:8081" }\nconnectors:\n  - name: a\n    pipedrive: { apiToken: t }\n`;
    expect(loadSinkConfigFrom(file(base), {}).naming).toBe('native');
    expect(loadSinkConfigFrom(file(`${base}sink:\n  naming: fivetran\n`), {}).naming).toBe('fivetran');
    expect(loadSinkConfigFrom(file(`${base}sink:\n  naming: fivetran\n`), { SINK_NAMING: 'native' }).naming).toBe('native');
    expect(() => loadSinkConfigFrom(file(`${base}sink:\n  naming: stitch\n`), {})).toThrow(/sink.naming: "stitch" is not one of native, fivetran/);
  });

  it('an environment variable cannot stand for several connectors at once', () => {
    expect(() => loadProducerConfigs(file(TWO), { PIPEDRIVE_API_TOKEN: 'x' })).toThrow(/PIPEDRIVE_API_TOKEN: set in the environment, but the configuration file holds 2 connectors/);
  });

  it('Kafka security and registry credentials: the kafka and schemaRegistry sections, for every connector and the sink', () => {
    const pw = file('kafka-secret-pw\n', 'txt');
    const path = file(`
kafka:
  brokers: [k1:9093]
  securityProtocol: SASL_SSL
  sasl: { mechanism: SCRAM-SHA-512, username: cdc, passwordFile: ${pw} }
schemaRegistry:
  url: https://registry.example/apis/ccompat/v7
  username: SRKEY
  password: sr-secret-pw
connectors:
  - name: a
    pipedrive: { apiToken: t }
  - name: b
    pipedrive: { apiToken: u }
`);
    const configs = loadProducerConfigs(path, {});
    for (const c of configs) {
      expect(c.kafkaSecurity).toMatchObject({ protocol: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'cdc', password: 'kafka-secret-pw' } });
      expect(c.schemaRegistryAuth).toEqual({ username: 'SRKEY', password: 'sr-secret-pw' });
    }
    expect(loadSinkConfigFrom(file(`${readFileSync(path, 'utf8')}sink: { connector: b }\n`), {}).kafkaSecurity.sasl?.password).toBe('kafka-secret-pw');
  });

  it.each([
    ['kafka: { brokers: k:9093, ssl: { certFile: /c.pem } }', /\.yaml: kafka\.ssl\.certFile: set, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which does not use TLS/],
    ['kafka: { brokers: k:9093, securityProtocol: SSL, ssl: { certFile: /c.pem } }', /\.yaml: kafka\.ssl\.certFile: set without KAFKA_SSL_KEY_FILE/],
    ['kafka: { brokers: k:9093, securityProtocol: SSL, ssl: { caFile: /nonexistent/ca.pem } }', /\.yaml: kafka\.ssl\.caFile: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/],
    ['kafka: { brokers: k:9093, sasl: { mechanism: PLAIN, user: x } }', /kafka\.sasl: unknown key "user"; allowed: mechanism, username, usernameFile, password, passwordFile/],
    ['kafka: { brokers: k:9093, securityProtocol: SASL_SSL, sasl: { mechanism: PLAIN, username: x } }', /\.yaml: kafka\.sasl\.password: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL/],
    ['schemaRegistry: { url: https://r, username: u, passwordFile: /nonexistent/pw }', /\.yaml: schemaRegistry\.passwordFile: cannot read \/nonexistent\/pw \(ENOENT\)/],
    ['kafka: { securityProtocol: SSL }', /\.yaml: kafka\.brokers: required, e\.g\. KAFKA_BROKERS=localhost:9092/],
    ['schemaRegistry: { url: https://r, cafile: /x }', /schemaRegistry: unknown key "cafile"; allowed: url, username, usernameFile, password, passwordFile, caFile/],
  ])('%s → an error naming the file path', (head, message) => {
    const path = file(`${head.startsWith('kafka') ? '' : 'kafka: { brokers: k:9092 }\n'}${head}\n${head.startsWith('schema') ? '' : 'schemaRegistry: { url: http://r }\n'}connectors:\n  - name: a\n    pipedrive: { apiToken: t }\n`);
    expect(() => loadProducerConfigs(path, {})).toThrow(ConfigError);
    expect(() => loadProducerConfigs(path, {})).toThrow(message);
  });

  it('a missing file says so', () => {
    expect(() => loadProducerConfigs(join(dir, 'nope.yaml'), {})).toThrow(/--config: cannot read .*nope\.yaml \(ENOENT\)/);
  });
});

describe('sync rules in the configuration file', () => {
  const withRules = (rules: string, extra = '') => `
kafka: { brokers: [k1:9092] }
schemaRegistry: { url: http://registry:8081 }
connectors:
  - name: acme
    pipedrive: { baseUrl: https://acme.pipedrive.com, apiToken: t }
    hashSaltFile: ${saltFile}
${extra}    rules:
${rules}
`;
  const saltFile = join(dir, 'salt');
  writeFileSync(saltFile, 'file-salt\n');

  it('reads blocked tables and columns, hashed columns, filters and the policy; the salt from its file, never shown', async () => {
    const [c] = loadProducerConfigs(
      file(
        withRules(`      blockedTables: [mail_message]
      schemaChanges: block-all
      tables:
        deal:
          block: [title]
          hash: [person_id]
          filter: { or: [{ column: status, in: [open, won] }, { column: value, gte: 1000 }] }`),
      ),
      {},
    );
    expect(c!.tables).not.toContain('mail_message');
    expect(c!.rules.policy).toBe('block-all');
    expect(c!.rules.publishedSpec(tableByName('deal')).columns.map((x) => x.name)).toContain('person_id_sha256');
    const { describeConfig } = await import('../src/config.ts');
    expect(describeConfig(c!)).not.toContain('file-salt');
    expect(describeConfig(c!)).toContain('"block":["title"]');
  });

  it('names the key path of a bad rule', () => {
    expect(() => loadProducerConfigs(file(withRules(`      tables: { deal: { filter: { column: status, like: open } } }`)), {})).toThrow(/connectors\[0\]\.rules\.tables\.deal\.filter/);
    expect(() => loadProducerConfigs(file(withRules(`      tables: { currency: { block: [nosuch_column_here] } }`)), {})).toThrow(/connectors\[0\]\.rules: .*"nosuch_column_here" is not a column/);
    expect(() => loadProducerConfigs(file(withRules(`      tables: { deal: { block: [id] } }`)), {})).toThrow(/connectors\[0\]\.rules: .*primary key/);
  });

  it('SYNC_RULES and SCHEMA_CHANGES in the environment override the file', () => {
    const [c] = loadProducerConfigs(file(withRules(`      schemaChanges: allow-all`)), { SCHEMA_CHANGES: 'allow-columns', SYNC_RULES: '{"blockedTables":["lead"]}' });
    expect(c!.rules.policy).toBe('allow-columns');
    expect(c!.tables).not.toContain('lead');
  });
});

describe('the admin API settings', () => {
  const text = (admin: string) => `
kafka: { brokers: [k1:9092] }
schemaRegistry: { url: http://registry:8081 }
adminApi: ${admin}
connectors:
  - name: acme
    pipedrive: { baseUrl: https://acme.pipedrive.com, apiToken: t }
`;
  it('reads the port and both tokens (files too), shows only the tokens\' names', async () => {
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'admin-token-0123456789\n');
    const [c] = loadProducerConfigs(file(text(`{ port: 9999, tokenFile: ${tokenFile}, readOnlyToken: read-only-0123456789 }`)), {});
    expect(c!.adminApi).toEqual({ port: 9999, tokens: [{ name: 'admin', token: 'admin-token-0123456789', access: 'admin' }, { name: 'read-only', token: 'read-only-0123456789', access: 'read-only' }] });
    const { describeConfig } = await import('../src/config.ts');
    expect(describeConfig(c!)).not.toMatch(/0123456789/);
  });
  it('refuses short or equal tokens, naming the key', () => {
    expect(() => loadProducerConfigs(file(text('{ token: short }')), {})).toThrow(/adminApi\.token: too short/);
    expect(() => loadProducerConfigs(file(text('{ token: same-token-0123456789, readOnlyToken: same-token-0123456789 }')), {})).toThrow(/adminApi\.readOnlyToken: equals/);
  });
  it('is off without a token', () => {
    expect(loadProducerConfigs(file(text('{ port: 9999 }')), {})[0]!.adminApi).toBeUndefined();
  });
});
