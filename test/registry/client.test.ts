import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../src/infra/pki.ts';
import { Registry, RegistryError } from '../../src/registry/client.ts';

/** The one registry client (producer and sink) against a scripted HTTP(S) server. */
let server: Server;
let base = '';
let answer: (req: IncomingMessage) => { status: number; body?: unknown; raw?: string } = () => ({ status: 200, body: [] });
const seen: IncomingMessage[] = [];
const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
  seen.push(req);
  const a = answer(req);
  res.writeHead(a.status, { 'content-type': a.raw === undefined ? 'application/json' : 'text/html' });
  res.end(a.raw ?? JSON.stringify(a.body ?? { message: 'x' }));
};
beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RegistryError);
  return e as RegistryError;
};
const record = (id: number) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), Buffer.from([2])]);
/** As the sink builds it: every call tried once, the caller retries. */
const once = (url = base, auth = {}) => new Registry(url, { auth, retries: false });

describe('schema registry failures', () => {
  it('a URL without the Confluent API (Apicurio without /apis/ccompat/v7): fatal, suggesting the path', async () => {
    answer = () => ({ status: 404 });
    const e = await failure(once().check());
    expect(e.retriable).toBe(false);
    expect(e.status).toBe(404);
    expect(e.message).toBe(`schema registry ${base}: listing subjects failed: HTTP 404: no Confluent-compatible API at this URL. For Apicurio Registry the URL ends in /apis/ccompat/v7 (e.g. ${base}/apis/ccompat/v7); check SCHEMA_REGISTRY_URL`);
  });

  it('401/403: fatal, naming the registry and the status', async () => {
    for (const status of [401, 403]) {
      answer = () => ({ status });
      const e = await failure(once().check());
      expect(e.retriable).toBe(false);
      expect(e.status).toBe(status);
      expect(e.message).toContain(`schema registry ${base}: listing subjects failed: HTTP ${status}`);
    }
  });

  it('a schema id the registry does not have: fatal, saying so', async () => {
    answer = () => ({ status: 404, body: { error_code: 40403, message: 'Schema 7 not found.' } });
    const e = await failure(once().writerOf(record(7)));
    expect(e.retriable).toBe(false);
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/HTTP 404: the registry has no schema 7, which records in Kafka were written with/);
  });

  it('a subject the registry does not have: status 404 (the sink skips it), saying the producer registers it', async () => {
    answer = () => ({ status: 404, body: { error_code: 40401, message: 'Subject not found.' } });
    const e = await failure(once().latest('p.deal-value'));
    expect(e.status).toBe(404);
    expect(e.message).toContain('HTTP 404: the registry has no subject p.deal-value; the producer registers it before writing the topic');
  });

  it('5xx and no answer at all are retriable', async () => {
    answer = () => ({ status: 503 });
    expect((await failure(once().writerOf(record(8)))).retriable).toBe(true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await failure(once(`http://127.0.0.1:${port}`).check());
    expect(e.retriable).toBe(true);
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it('a 200 that is not JSON (a web page at that URL): fatal, asking whether the URL is the API', async () => {
    answer = () => ({ status: 200, raw: '<html>login</html>' });
    const e = await failure(once().check());
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/the answer is not JSON .*is SCHEMA_REGISTRY_URL a Confluent-compatible API\?/);
  });

  it('a writer schema is read once and keeps its attributes', async () => {
    let reads = 0;
    const schema = { type: 'record', name: 'V', 'pipedrive.cdc.kind': 'history', fields: [{ name: 'n', type: { type: 'long', logicalType: 'timestamp-millis' } }] };
    answer = () => (reads++, { status: 200, body: { schema: JSON.stringify(schema) } });
    const s = once();
    const w = await s.writerOf(record(9));
    await s.writerOf(record(9));
    expect(reads).toBe(1);
    expect(w.schema['pipedrive.cdc.kind']).toBe('history');
    expect(w.type.fromBuffer(Buffer.from([2]))).toEqual({ n: 1 });
  });

  it('with retries (the producer): a 503 is waited out and logged, then the answer is used', async () => {
    let calls = 0;
    answer = () => (++calls < 3 ? { status: 503 } : { status: 200, body: ['a'] });
    const logged: string[] = [];
    const r = new Registry(base, { log: (event) => void logged.push(event), timeoutMs: 2000 });
    await r.check();
    expect(calls).toBe(3);
    expect(logged).toEqual(['retrying', 'retrying', 'recovered']);
  }, 20_000);
});

describe('schema registry credentials (HTTP basic auth)', () => {
  const password = 'registry-secret-Zq8';

  it('sends them in the Authorization header, never in the URL', async () => {
    answer = () => ({ status: 200, body: [] });
    seen.length = 0;
    await once(base, { username: 'api-key', password }).check();
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`api-key:${password}`).toString('base64')}`);
    expect(seen[0]!.url).toBe('/subjects');
  });

  it('refused (401): fatal, naming the registry, the 401 and the settings, not the password', async () => {
    answer = () => ({ status: 401, raw: '<html><head><title>401 Authorization Required</title></head></html>' });
    const e = await failure(once(base, { username: 'api-key', password: 'wrong-password-Qx1' }).check());
    expect(e.retriable).toBe(false);
    expect(e.message).toBe(`schema registry ${base}: listing subjects failed: HTTP 401: the registry refused the credentials; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or their _FILE variants)`);
    expect(e.message).not.toContain('wrong-password-Qx1');
  });

  it('none given but required: says to set them', async () => {
    answer = () => ({ status: 401 });
    expect((await failure(once().check())).message).toContain('HTTP 401: the registry requires credentials; set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD');
  });
});

describe('an https registry with a private CA', () => {
  let pki: TestPki;
  let tls: import('node:https').Server;
  let url = '';
  beforeAll(async () => {
    pki = await makeTestPki(mkdtempSync(join(tmpdir(), 'pcdc-registry-pki-')));
    tls = createHttpsServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) }, handler);
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  }, 30_000);
  afterAll(() => new Promise<void>((r) => (tls ? tls.close(() => r()) : r())));
  const ca = () => ({ path: pki.ca.cert, pem: readFileSync(pki.ca.cert, 'utf8') });

  it('SCHEMA_REGISTRY_CA_FILE trusted: the call goes through', async () => {
    answer = () => ({ status: 200, body: [] });
    await once(url, { ca: ca() }).check();
  });

  it('without it: fatal at once (not an outage to wait out), saying to set SCHEMA_REGISTRY_CA_FILE', async () => {
    const e = await failure(once(url).check());
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(new RegExp(`^schema registry ${url}: listing subjects failed: TLS: the registry's certificate is not trusted; set SCHEMA_REGISTRY_CA_FILE`));
    // The producer's client retries transient failures, never this one.
    const t0 = Date.now();
    await failure(new Registry(url, {}).check());
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('another CA: not trusted either', async () => {
    const e = await failure(once(url, { ca: { path: pki.otherCa.cert, pem: readFileSync(pki.otherCa.cert, 'utf8') } }).check());
    expect(e.message).toContain("TLS: the registry's certificate is not trusted");
  });
});
