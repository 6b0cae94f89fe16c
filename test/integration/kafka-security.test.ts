// Kafka as managed services run it: a real broker (the local KRaft node) with a SASL_SSL listener
// authenticating SCRAM-SHA-512 users (Amazon MSK, Aiven) and an SSL listener that requires a client
// certificate (mTLS), both with certificates of a CA this test makes with openssl. The producer (`run
// --once`) and a DuckDB sink sync the local Pipedrive's deals through each; a wrong password, an untrusted
// CA and a missing client certificate stop both processes at once with a message naming the settings;
// no password or key is ever in their output or metrics.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type LocalKafka } from '../../src/infra/kafka.ts';
import { makeTestPki, type TestPki } from '../../src/infra/pki.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, runCli, uniqueName } from './support/harness.ts';
import { expectNoSecrets } from './support/oauth.ts';
import { expectDealsLikeSource, expectFailure, syncDeals } from './support/secured-sync.ts';

let pki: TestPki;
let kafka: LocalKafka;
let sim: Simulator;
let dir: string;
const password = `scram-${randomBytes(10).toString('hex')}`;
const wrongPassword = `wrong-${randomBytes(10).toString('hex')}`;
/** What must never be shown: the passwords, and the body of every private key the test made. */
const secrets = () => [password, wrongPassword, ...[pki.client.key, pki.strangerClient.key].flatMap((k) => readFileSync(k, 'utf8').split('\n').filter((l) => l.length >= 40))];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pcdc-kafka-security-'));
  pki = await makeTestPki(join(dir, 'pki'));
  const [k, s] = await Promise.allSettled([
    startKafka({ secure: { keystore: pki.serverKeystore, truststore: pki.ca.cert, scramUsers: [{ name: 'cdc', password }], mtls: true }, log: (m) => console.log(`[kafka] ${m}`) }),
    startSimulator({ seed: 41, deals: 30 }),
  ]);
  if (k.status === 'fulfilled') kafka = k.value;
  if (s.status === 'fulfilled') sim = s.value;
  for (const x of [k, s]) if (x.status === 'rejected') throw x.reason;
});
afterAll(async () => {
  await Promise.all([kafka?.stop(), sim?.close()]);
});

const passwordFile = () => {
  const p = join(dir, 'kafka-password');
  writeFileSync(p, `${password}\n`, { mode: 0o600 });
  return p;
};
const saslSsl = (extra: Record<string, string> = {}) => ({
  KAFKA_BROKERS: kafka.saslSslBrokers!.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: 'cdc',
  KAFKA_SASL_PASSWORD_FILE: passwordFile(),
  KAFKA_SSL_CA_FILE: pki.ca.cert,
  ...extra,
});
const mtls = (extra: Record<string, string> = {}) => ({
  KAFKA_BROKERS: kafka.mtlsBrokers!.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SSL',
  KAFKA_SSL_CA_FILE: pki.ca.cert,
  KAFKA_SSL_CERT_FILE: pki.client.cert,
  KAFKA_SSL_KEY_FILE: pki.client.key,
  ...extra,
});
/** A fresh connector on the shared registry, with the given Kafka settings. */
const env = (kafkaSettings: Record<string, string>) => {
  const prefix = uniqueName('sec');
  return { ...pipelineEnv(sim, prefix), METRICS_PORT: '0', SINK_METRICS_PORT: '0', DUCKDB_PATH: join(dir, `${prefix}.duckdb`), ...kafkaSettings };
};

describe('Kafka over SASL_SSL (SCRAM-SHA-512) and mTLS, on a real broker', () => {
  it.each([
    ['SASL_SSL with SCRAM-SHA-512 and a private CA', () => saslSsl()],
    ['SSL with a client certificate (mTLS)', () => mtls()],
  ])('%s: run --once and the DuckDB sink sync every deal; no secret in any line or metric', async (_, settings) => {
    const s = await syncDeals(env(settings()));
    await expectDealsLikeSource(sim, s.duckPath);
    const starting = JSON.parse(String(s.producer.lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.event === 'starting')!.config));
    expect(starting.kafkaSecurity.protocol).toBe(settings().KAFKA_SECURITY_PROTOCOL);
    expect(s.metrics.length).toBeGreaterThan(1);
    expectNoSecrets('producer and sink output and metrics', [...s.producer.lines, ...s.sink.lines, ...s.metrics], secrets());
  });

  it('a wrong SCRAM password: the producer and the sink exit 1 within seconds, saying authentication failed and which settings to check', async () => {
    for (const command of ['run', 'sink']) {
      const e = env(saslSsl({ KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: wrongPassword }));
      const { output, ms } = await expectFailure(runCli(command === 'run' ? ['run', '--once'] : ['sink'], e));
      console.log(`[kafka-security] ${command} with a wrong password stopped ${ms} ms after starting`);
      expect(ms, command).toBeLessThan(5_000);
      expect(output).toMatch(/SASL SCRAM SHA512 authentication failed: .*invalid credentials.* — authentication failed: the brokers refused the SASL credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
      expect(output).not.toMatch(/"event":"retrying"/);
      expectNoSecrets(`${command} output`, [output], secrets());
    }
  });

  it("a CA that did not sign the broker's certificate: both exit 1 at once with a TLS message naming KAFKA_SSL_CA_FILE", async () => {
    for (const command of ['run', 'sink']) {
      const { output, ms } = await expectFailure(runCli(command === 'run' ? ['run', '--once'] : ['sink'], env(saslSsl({ KAFKA_SSL_CA_FILE: pki.otherCa.cert }))));
      console.log(`[kafka-security] ${command} with an untrusted CA stopped ${ms} ms after starting`);
      expect(ms, command).toBeLessThan(5_000);
      expect(output).toContain("(TLS handshake) failed: unable to verify the first certificate — TLS: the broker's certificate is not trusted; set KAFKA_SSL_CA_FILE to the CA certificate (PEM) that signed it");
      expectNoSecrets(`${command} output`, [output], secrets());
    }
  });

  it('the mTLS listener without a client certificate, or with one of another CA: exit 1 saying to set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE', async () => {
    for (const settings of [mtls({ KAFKA_SSL_CERT_FILE: '', KAFKA_SSL_KEY_FILE: '' }), mtls({ KAFKA_SSL_CERT_FILE: pki.strangerClient.cert, KAFKA_SSL_KEY_FILE: pki.strangerClient.key })]) {
      const { output } = await expectFailure(runCli(['run', '--once'], env(settings)));
      expect(output).toMatch(/TLS: the broker refused the client certificate: it requires one \(mTLS\) signed by a CA in its truststore; set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/);
      expectNoSecrets('producer output', [output], secrets());
    }
  });

  it('settings that cannot work are refused before connecting: exit 2 naming the setting', async () => {
    const run = runCli(['run', '--once'], env(mtls({ KAFKA_SSL_KEY_FILE: '' })));
    expect(await run.exit).toBe(2);
    expect(run.lines.join('\n')).toContain('configuration error: KAFKA_SSL_CERT_FILE: set without KAFKA_SSL_KEY_FILE; a client certificate (mTLS) needs its private key too');
  });
});
