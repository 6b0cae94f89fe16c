// The schema registry as it is often run in production (and as Confluent Cloud's behaves): behind a TLS
// reverse proxy that requires HTTP basic auth — a real nginx (Debian's package) with a certificate of a CA
// this test makes, in front of the real registry the integration run shares. Producer and sink register
// and resolve every schema through it; a wrong password or an untrusted certificate stops them with a
// message naming the registry (URL redacted) and the 401 or TLS; no password in any line or metric.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx, type LocalNginx } from '../../src/infra/nginx.ts';
import { makeTestPki, type TestPki } from '../../src/infra/pki.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, runCli, services, uniqueName } from './support/harness.ts';
import { expectNoSecrets } from './support/oauth.ts';
import { expectDealsLikeSource, expectFailure, syncDeals } from './support/secured-sync.ts';

let pki: TestPki;
let nginx: LocalNginx;
let sim: Simulator;
let dir: string;
/** The registry's Confluent API through the proxy: https://127.0.0.1:PORT/apis/ccompat/v7. */
let registryUrl: string;
const user = 'cdc-registry';
const password = `sr-${randomBytes(10).toString('hex')}`;
const wrongPassword = `wrong-${randomBytes(10).toString('hex')}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pcdc-registry-security-'));
  pki = await makeTestPki(join(dir, 'pki'));
  const upstream = services().registryUrl;
  [nginx, sim] = await Promise.all([
    startNginx({ upstream, tls: pki.server, users: [{ user, password }], log: (m) => console.log(`[nginx] ${m}`) }),
    startSimulator({ seed: 43, deals: 25 }),
  ]);
  registryUrl = `${nginx.url}${new URL(upstream).pathname}`.replace(/\/+$/, '');
});
afterAll(async () => {
  await Promise.all([nginx?.stop(), sim?.close()]);
});

const env = (registry: Record<string, string>): Record<string, string> => {
  const prefix = uniqueName('srsec');
  return { ...pipelineEnv(sim, prefix), METRICS_PORT: '0', SINK_METRICS_PORT: '0', DUCKDB_PATH: join(dir, `${prefix}.duckdb`), SCHEMA_REGISTRY_URL: registryUrl, ...registry };
};
const passwordFile = () => {
  const p = join(dir, 'registry-password');
  writeFileSync(p, `${password}\n`, { mode: 0o600 });
  return p;
};
const authorized = (extra: Record<string, string> = {}) => ({ SCHEMA_REGISTRY_USERNAME: user, SCHEMA_REGISTRY_PASSWORD_FILE: passwordFile(), SCHEMA_REGISTRY_CA_FILE: pki.ca.cert, ...extra });
/** Requests nginx served: `user "METHOD /path HTTP/1.1" status`. */
const served = () => readFileSync(nginx.accessLog, 'utf8').split('\n').filter(Boolean);
const secrets = () => [password, wrongPassword, Buffer.from(`${user}:${password}`).toString('base64')];

describe('the schema registry behind a TLS reverse proxy with basic auth (nginx)', () => {
  it('producer and sink register and resolve every schema through it: the deals arrive; no secret in any line or metric', async () => {
    const before = served().length;
    const e = env(authorized());
    const s = await syncDeals(e);
    await expectDealsLikeSource(sim, s.duckPath);
    const requests = served().slice(before);
    const prefix = e.TOPIC_PREFIX!;
    expect(requests).toContainEqual(expect.stringMatching(new RegExp(`^${user} "POST /apis/ccompat/v7/subjects/${prefix}\\.deal-value/versions HTTP/1\\.1" 200$`)));
    // The sink checks the API, then reads each topic's newest schemas (which also gives it the writer schemas by id).
    expect(requests).toContainEqual(`${user} "GET /apis/ccompat/v7/subjects HTTP/1.1" 200`);
    expect(requests).toContainEqual(`${user} "GET /apis/ccompat/v7/subjects/${prefix}.deal-value/versions/latest HTTP/1.1" 200`);
    expect(requests.filter((r) => !r.startsWith(`${user} `) || !/ (200|404)$/.test(r)), 'every request authenticated and answered').toEqual([]);
    const starting = JSON.parse(String(s.sink.lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.event === 'starting')!.config));
    expect(starting.schemaRegistryAuth).toEqual({ username: user, caFile: pki.ca.cert });
    expectNoSecrets('producer and sink output and metrics', [...s.producer.lines, ...s.sink.lines, ...s.metrics], secrets());
  });

  it('a wrong password: producer and sink exit 1 within seconds, naming the registry and the 401', async () => {
    for (const command of ['run', 'sink']) {
      const e = env(authorized({ SCHEMA_REGISTRY_PASSWORD_FILE: '', SCHEMA_REGISTRY_PASSWORD: wrongPassword }));
      const { output, ms } = await expectFailure(runCli(command === 'run' ? ['run', '--once'] : ['sink'], e));
      console.log(`[registry-security] ${command} with a wrong password stopped ${ms} ms after starting`);
      expect(ms, command).toBeLessThan(10_000);
      expect(output).toMatch(
        new RegExp(`schema registry ${registryUrl.replace(/[.?]/g, '\\$&')}: [^"]* failed: HTTP 401: the registry refused the credentials; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`),
      );
      expect(output).not.toMatch(/"event":"retrying","dependency":"registry"/);
      expectNoSecrets(`${command} output`, [output], secrets());
    }
  });

  it('credentials in the URL: used, and the URL shown redacted in the error', async () => {
    const inUrl = registryUrl.replace('https://', `https://${user}:${wrongPassword}@`);
    const { output } = await expectFailure(runCli(['sink'], env({ SCHEMA_REGISTRY_URL: inUrl, SCHEMA_REGISTRY_CA_FILE: pki.ca.cert })));
    expect(output).toContain(`schema registry ${registryUrl.replace('https://', 'https://***@')}: listing subjects failed: HTTP 401: the registry refused the credentials`);
    expectNoSecrets('sink output', [output], secrets());
  });

  it('no credentials: exit 1 saying the registry requires them', async () => {
    const { output } = await expectFailure(runCli(['sink'], env({ SCHEMA_REGISTRY_CA_FILE: pki.ca.cert })));
    expect(output).toContain(`schema registry ${registryUrl}: listing subjects failed: HTTP 401: the registry requires credentials; set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`);
  });

  it("a certificate the system's CAs do not trust: exit 1 at once, saying to set SCHEMA_REGISTRY_CA_FILE", async () => {
    for (const command of ['run', 'sink']) {
      const { output, ms } = await expectFailure(runCli(command === 'run' ? ['run', '--once'] : ['sink'], env(authorized({ SCHEMA_REGISTRY_CA_FILE: '' }))));
      expect(ms, command).toBeLessThan(10_000);
      expect(output).toContain(`schema registry ${registryUrl}: `);
      expect(output).toContain("failed: TLS: the registry's certificate is not trusted; set SCHEMA_REGISTRY_CA_FILE to the CA certificate (PEM) that signed it");
      expectNoSecrets(`${command} output`, [output], secrets());
    }
  });
});
