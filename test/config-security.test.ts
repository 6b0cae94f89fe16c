import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadProducerConfig, loadSinkConfig } from '../src/config.ts';
import { makeTestPki, type TestPki } from '../src/infra/pki.ts';
import { kafkajsSecurity } from '../src/kafka/security.ts';

const base = { KAFKA_BROKERS: 'broker:9093', SCHEMA_REGISTRY_URL: 'https://registry.example:443', PIPEDRIVE_API_TOKEN: 'api-token-123456' };
let pki: TestPki;
let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pcdc-config-sec-'));
  pki = await makeTestPki(join(dir, 'pki'));
}, 30_000);

describe('Kafka security settings', () => {
  it('PLAINTEXT by default: no TLS, no SASL', () => {
    const c = loadSinkConfig(base);
    expect(c.kafkaSecurity).toEqual({ protocol: 'PLAINTEXT' });
    expect(kafkajsSecurity(c.kafkaSecurity)).toEqual({});
  });

  it('SASL_SSL + SCRAM-SHA-512 with a CA, the password from a _FILE; kafkajs gets ssl and sasl; nothing secret is shown', () => {
    const c = loadProducerConfig({
      ...base,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'cdc',
      KAFKA_SASL_PASSWORD_FILE: file('kafka-password', 'kafka-secret-pw-77\n'),
      KAFKA_SSL_CA_FILE: pki.ca.cert,
    });
    expect(c.kafkaSecurity).toMatchObject({ protocol: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'cdc', password: 'kafka-secret-pw-77' }, tls: { ca: { path: pki.ca.cert } } });
    const k = kafkajsSecurity(c.kafkaSecurity);
    expect(k.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'cdc', password: 'kafka-secret-pw-77' });
    expect(k.ssl).toEqual({ rejectUnauthorized: true, ca: [readFileSync(pki.ca.cert, 'utf8')] });
    const shown = describeConfig(c);
    expect(shown).not.toContain('kafka-secret-pw-77');
    expect(JSON.parse(shown).kafkaSecurity).toEqual({ protocol: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-512', username: 'cdc' }, tls: { caFile: pki.ca.cert } });
  });

  it('SSL with a client certificate (mTLS): the key is passed to kafkajs, never shown', () => {
    const c = loadSinkConfig({ ...base, KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: pki.ca.cert, KAFKA_SSL_CERT_FILE: pki.client.cert, KAFKA_SSL_KEY_FILE: pki.client.key });
    const k = kafkajsSecurity(c.kafkaSecurity);
    expect(k.ssl).toMatchObject({ cert: readFileSync(pki.client.cert, 'utf8'), key: readFileSync(pki.client.key, 'utf8') });
    expect(k.sasl).toBeUndefined();
    const shown = describeConfig(c);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).not.toContain(readFileSync(pki.client.key, 'utf8').split('\n')[1]);
    expect(JSON.parse(shown).kafkaSecurity.tls).toEqual({ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key });
  });

  it('SSL without a CA file: the public CAs Node.js bundles (Confluent Cloud, MSK)', () => {
    expect(kafkajsSecurity(loadSinkConfig({ ...base, KAFKA_SECURITY_PROTOCOL: 'ssl' }).kafkaSecurity)).toEqual({ ssl: true });
  });

  const sasl = { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'key', KAFKA_SASL_PASSWORD: 'secret' };
  it.each([
    [{ KAFKA_SECURITY_PROTOCOL: 'TLS' }, 'KAFKA_SECURITY_PROTOCOL: "TLS" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL'],
    [{ KAFKA_SASL_MECHANISM: 'PLAIN' }, 'KAFKA_SASL_MECHANISM: set, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which does not authenticate with SASL; use SASL_SSL (or SASL_PLAINTEXT), or unset KAFKA_SASL_MECHANISM'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_USERNAME: set, but KAFKA_SECURITY_PROTOCOL is SSL'],
    [{ ...sasl, KAFKA_SASL_MECHANISM: '' }, 'KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL; one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512'],
    [{ ...sasl, KAFKA_SASL_MECHANISM: 'GSSAPI' }, 'KAFKA_SASL_MECHANISM: "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (not supported; use SCRAM or mTLS)'],
    [{ ...sasl, KAFKA_SASL_USERNAME: '' }, 'KAFKA_SASL_USERNAME: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL'],
    [{ ...sasl, KAFKA_SASL_PASSWORD: '' }, 'KAFKA_SASL_PASSWORD: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL (or KAFKA_SASL_PASSWORD_FILE'],
    [{ ...sasl, KAFKA_SASL_PASSWORD_FILE: '/nonexistent/pw' }, 'KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE: both set; set only one'],
    [{ KAFKA_SSL_CA_FILE: '/etc/ssl/ca.pem' }, 'KAFKA_SSL_CA_FILE: set, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which does not use TLS; use SSL or SASL_SSL, or unset it'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SSL_KEY_FILE: '/k' }, 'KAFKA_SSL_KEY_FILE: set, but KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: '/c.pem' }, 'KAFKA_SSL_CERT_FILE: set without KAFKA_SSL_KEY_FILE; a client certificate (mTLS) needs its private key too'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_KEY_FILE: '/c.key' }, 'KAFKA_SSL_KEY_FILE: set without KAFKA_SSL_CERT_FILE'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, 'KAFKA_SSL_CA_FILE: cannot read /nonexistent/ca.pem (ENOENT)'],
  ])('%o → a ConfigError naming the setting', (bad, message) => {
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(ConfigError);
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(message);
  });

  it('files that are not what they should be: named with their path', () => {
    const ssl = { ...base, KAFKA_SECURITY_PROTOCOL: 'SSL' };
    expect(() => loadSinkConfig({ ...ssl, KAFKA_SSL_CA_FILE: file('ca.jks', 'binary junk') })).toThrow(`KAFKA_SSL_CA_FILE: ${join(dir, 'ca.jks')} holds no PEM certificate`);
    expect(() => loadSinkConfig({ ...ssl, KAFKA_SSL_CA_FILE: dir })).toThrow(`KAFKA_SSL_CA_FILE: cannot read ${dir} (EISDIR)`);
    expect(() => loadSinkConfig({ ...ssl, KAFKA_SSL_CERT_FILE: pki.client.cert, KAFKA_SSL_KEY_FILE: pki.client.cert })).toThrow(`KAFKA_SSL_KEY_FILE: ${pki.client.cert} holds no PEM private key`);
    expect(() => loadSinkConfig({ ...ssl, KAFKA_SSL_CERT_FILE: pki.client.cert, KAFKA_SSL_KEY_FILE: pki.server.key })).toThrow(
      `KAFKA_SSL_KEY_FILE: ${pki.server.key} is not the private key of the certificate in KAFKA_SSL_CERT_FILE (${pki.client.cert})`,
    );
    const encrypted = file('enc.key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc\n-----END ENCRYPTED PRIVATE KEY-----\n');
    expect(() => loadSinkConfig({ ...ssl, KAFKA_SSL_CERT_FILE: pki.client.cert, KAFKA_SSL_KEY_FILE: encrypted })).toThrow(`KAFKA_SSL_KEY_FILE: ${encrypted} is an encrypted private key; decrypt it`);
  });
});

describe('schema registry credentials and CA', () => {
  it('basic auth from the settings (password from a _FILE) and a private CA; shown without the password', () => {
    const c = loadSinkConfig({ ...base, SCHEMA_REGISTRY_USERNAME: 'SRKEY', SCHEMA_REGISTRY_PASSWORD_FILE: file('sr-password', 'sr-secret-pw-88\n'), SCHEMA_REGISTRY_CA_FILE: pki.ca.cert });
    expect(c.schemaRegistryAuth).toMatchObject({ username: 'SRKEY', password: 'sr-secret-pw-88', ca: { path: pki.ca.cert } });
    const shown = describeConfig(c);
    expect(shown).not.toContain('sr-secret-pw-88');
    expect(JSON.parse(shown).schemaRegistryAuth).toEqual({ username: 'SRKEY', caFile: pki.ca.cert });
  });

  it('credentials in the URL are used as basic auth and shown redacted', () => {
    const c = loadSinkConfig({ ...base, SCHEMA_REGISTRY_URL: 'https://key:p%40ss@registry.example/apis/ccompat/v7' });
    expect(c.schemaRegistryAuth).toEqual({ username: 'key', password: 'p@ss' });
    expect(describeConfig(c)).not.toContain('p%40ss');
  });

  it.each([
    [{ SCHEMA_REGISTRY_USERNAME: 'u' }, 'SCHEMA_REGISTRY_PASSWORD: required with SCHEMA_REGISTRY_USERNAME'],
    [{ SCHEMA_REGISTRY_PASSWORD: 'p' }, 'SCHEMA_REGISTRY_USERNAME: required with SCHEMA_REGISTRY_PASSWORD'],
    [{ SCHEMA_REGISTRY_USERNAME: 'a:b', SCHEMA_REGISTRY_PASSWORD: 'p' }, 'SCHEMA_REGISTRY_USERNAME: must not contain ":"'],
    [{ SCHEMA_REGISTRY_PASSWORD_FILE: '/nonexistent/sr', SCHEMA_REGISTRY_USERNAME: 'u' }, 'SCHEMA_REGISTRY_PASSWORD_FILE: cannot read /nonexistent/sr (ENOENT)'],
    [{ SCHEMA_REGISTRY_URL: 'http://registry:8081', SCHEMA_REGISTRY_CA_FILE: '/ca.pem' }, 'SCHEMA_REGISTRY_CA_FILE: set, but SCHEMA_REGISTRY_URL is http:// (no TLS); use an https:// URL, or unset it'],
    [{ SCHEMA_REGISTRY_CA_FILE: '/nonexistent/ca.pem' }, 'SCHEMA_REGISTRY_CA_FILE: cannot read /nonexistent/ca.pem (ENOENT)'],
    [{ SCHEMA_REGISTRY_URL: 'https://a:b@registry', SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'p' }, 'SCHEMA_REGISTRY_URL: holds credentials (user:password@) and SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD are set too'],
  ])('%o → a ConfigError naming the setting', (bad, message) => {
    expect(() => loadSinkConfig({ ...base, ...bad })).toThrow(ConfigError);
    expect(() => loadSinkConfig({ ...base, ...bad })).toThrow(message);
  });
});
