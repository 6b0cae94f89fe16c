import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { insecureReason, isLocalHost, pipedriveDispatcher } from '../../src/pipedrive/transport.ts';

describe('transport rules', () => {
  it.each(['localhost', 'LOCALHOST', 'a.localhost', '127.0.0.1', '127.9.8.7', '[::1]', '::1', '0.0.0.0', '[::]', '::ffff:127.0.0.1'])('%s is this machine', (h) => {
    expect(isLocalHost(h)).toBe(true);
  });
  it.each(['pipedrive-sim', '10.0.0.1', '128.0.0.1', 'localhost.example.com', 'acme.pipedrive.com'])('%s is not', (h) => {
    expect(isLocalHost(h)).toBe(false);
  });
  it('https anywhere, http only to this machine or when allowed', () => {
    expect(insecureReason('https://acme.pipedrive.com', 'X', false)).toBeUndefined();
    expect(insecureReason('http://127.0.0.1:1', 'X', false)).toBeUndefined();
    expect(insecureReason('http://u:p@acme.example/?t=1', 'X', false)).toMatch(/^X: http:\/\/\*\*\*@acme.example\/\?\*\*\* is plain http to another host.*PIPEDRIVE_ALLOW_INSECURE_HTTP=true/);
    expect(insecureReason('http://acme.example', 'X', true)).toBeUndefined();
    expect(insecureReason('ftp://acme.example', 'X', true)).toBe('X: must be https (got ftp:)');
  });
});

describe('proxy dispatcher', () => {
  let origin: Server;
  let proxy: Server;
  const seen: string[] = [];
  const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
  let originPort: number;
  let proxyPort: number;
  beforeAll(async () => {
    origin = createServer((_req, res) => res.setHeader('content-type', 'application/json').end('{"success":true,"data":[]}'));
    // A forward proxy in a few lines: absolute-URI requests are relayed to the origin.
    proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} auth=${req.headers['proxy-authorization'] ? 'yes' : 'no'}`);
      const target = new URL(req.url!);
      fetch(target, { headers: { 'x-api-token': String(req.headers['x-api-token']) } }).then(
        async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
        () => res.writeHead(502).end(),
      );
    });
    originPort = await listen(origin);
    proxyPort = await listen(proxy);
  });
  afterAll(() => {
    origin.close();
    proxy.close();
  });

  it('sends http:// calls through HTTP_PROXY as absolute-URI requests with the proxy credentials; NO_PROXY bypasses it', async () => {
    const via = pipedriveDispatcher({ proxy: { httpProxy: `http://alice:pw@127.0.0.1:${proxyPort}` } });
    const c = new PipedriveClient({ baseUrl: `http://127.0.0.1:${originPort}`, apiToken: 't', dispatcher: via });
    expect((await c.getJson('/api/v2/deals', { limit: '1' })).status).toBe(200);
    expect(seen).toEqual([`GET http://127.0.0.1:${originPort}/api/v2/deals?limit=1 auth=yes`]);
    await via.close();
    const bypass = pipedriveDispatcher({ proxy: { httpProxy: `http://127.0.0.1:${proxyPort}`, noProxy: '127.0.0.1' } });
    const direct = new PipedriveClient({ baseUrl: `http://127.0.0.1:${originPort}`, apiToken: 't', dispatcher: bypass });
    expect((await direct.getJson('/api/v2/deals', {})).status).toBe(200);
    expect(seen).toHaveLength(1);
    await bypass.close();
  });
});

describe('answers that are not Pipedrive speaking', () => {
  it('a 407 from a proxy, or an HTML 401 from something in between, is a proxy-credentials error, not "the API token is wrong"', async () => {
    const p407 = createServer((_req, res) => res.writeHead(407, { 'proxy-authenticate': 'Basic realm="x"' }).end());
    const html401 = createServer((_req, res) => res.writeHead(401, { 'content-type': 'text/html' }).end('<html><head><title>401 Unauthorized</title></head></html>'));
    const listen = (s: ReturnType<typeof createServer>) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
    const [a, b] = [await listen(p407), await listen(html401)];
    try {
      const viaProxy = pipedriveDispatcher({ proxy: { httpProxy: `http://u:secretpw@127.0.0.1:${a}` } });
      const c1 = new PipedriveClient({ baseUrl: 'http://127.0.0.1:1', apiToken: 't', dispatcher: viaProxy, maxRetries: 0 });
      const e1 = (await c1.getJson('/api/v2/deals', {}).catch((e: unknown) => e)) as Error & { retriable: boolean; scope: string };
      expect(e1.message).toMatch(/the proxy refused its credentials \(407 Proxy Authentication Required\); check the user and password in HTTPS_PROXY \/ HTTP_PROXY/);
      expect([e1.retriable, e1.scope]).toEqual([false, 'connector']);
      expect(e1.message).not.toContain('secretpw');
      await viaProxy.close();
      const c2 = new PipedriveClient({ baseUrl: `http://127.0.0.1:${b}`, apiToken: 't', maxRetries: 0 });
      const e2 = (await c2.getJson('/api/v2/deals', {}).catch((e: unknown) => e)) as Error;
      expect(e2.message).toContain('401 with HTML page "401 Unauthorized", not Pipedrive\'s JSON');
      expect(e2.message).not.toContain('PIPEDRIVE_API_TOKEN');
      await c2.close();
    } finally {
      p407.close();
      html401.close();
    }
  });
});
