import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyproxy, type LocalTinyproxy } from '../../src/infra/tinyproxy.ts';
import { parseTokenGrant } from '../../src/pipedrive/oauth-server.ts';
import { storedFromGrant } from '../../src/pipedrive/oauth.ts';
import { TokenStore } from '../../src/pipedrive/token-store.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, pipelineEnv, readTopic, runCli, uniqueName } from './support/harness.ts';
import { expectNoSecrets } from './support/oauth.ts';

/**
 * Pipedrive calls through a real HTTP proxy (Debian's tinyproxy, with basic auth) to the local Pipedrive:
 * every API request (and, with OAuth, the token refresh) shows in the proxy's log, the sync completes,
 * NO_PROXY bypasses it, and the proxy password never shows in any output.
 */
describe('Pipedrive through HTTP_PROXY (tinyproxy)', () => {
  let sim: Simulator;
  let proxy: LocalTinyproxy;
  const password = `pw-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 13, deals: 20 });
    proxy = await startTinyproxy({ basicAuth: { user: 'pcdc', password }, log: (m) => console.log(`[tinyproxy] ${m}`) });
  });
  afterAll(async () => {
    await proxy?.stop();
    await sim?.close();
  });

  /** Request lines tinyproxy forwarded to the simulator, in order (`GET http://127.0.0.1:PORT/api/v2/deals?…`). */
  const forwarded = () =>
    readFileSync(proxy.logFile, 'utf8')
      .split('\n')
      .flatMap((l) => {
        const m = /Request \(file descriptor \d+\): (\S+ \S+) HTTP\//.exec(l);
        return m && m[1]!.includes(` ${sim.baseUrl}/`) ? [m[1]!] : [];
      });
  const env = (extra: Record<string, string>) => pipelineEnv(sim, uniqueName('proxy'), { TABLES: 'deal', METRICS_PORT: '0', ...extra });

  it('run --once with HTTP_PROXY=http://user:password@…: every API call goes through the proxy and the sync completes', async () => {
    const served = sim.requestCount.count();
    const before = forwarded().length;
    const e = env({ HTTP_PROXY: proxy.url });
    const run = runCli(['run', '--once'], e);
    expect(await run.exit, run.lines.slice(-10).join('\n')).toBe(0);
    const calls = forwarded().slice(before);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length, 'every request the simulator served came through the proxy').toBe(sim.requestCount.count() - served);
    expect(calls).toContainEqual(expect.stringMatching(new RegExp(`^GET ${sim.baseUrl}/api/v2/deals\\?`)));
    const starting = run.lines.map(parseJsonLine).find((l) => l?.event === 'starting')!;
    expect(JSON.parse(String(starting.config)).pipedrive.proxy).toEqual({ httpProxy: `http://***@127.0.0.1:${proxy.port}` });
    const deals = await readTopic(`${e.TOPIC_PREFIX}.deal`);
    expect(new Set(deals.map((r) => (r.key as { id: number }).id)).size).toBe(20);
    expectNoSecrets('producer output', run.lines, [password, sim.token]);
  });

  it('OAuth through the proxy (lower-case http_proxy): the token refresh is proxied too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcdc-proxy-'));
    const app = sim.oauth.registered[0]!;
    const store = new TokenStore(join(dir, 'tokens.json'));
    const grant = parseTokenGrant(JSON.stringify(sim.oauth.grantDirectly(app.clientId, sim.baseUrl)), 'test');
    store.write(storedFromGrant(grant, app.clientId, Date.now(), sim.baseUrl));
    sim.clock.advance(3600_000 + 1000); // the access token expired: the first call gets a 401, then the refresh
    const before = forwarded().length;
    const run = runCli(['run', '--once'], {
      ...env({ http_proxy: proxy.url, PIPEDRIVE_OAUTH_CLIENT_ID: app.clientId, PIPEDRIVE_OAUTH_CLIENT_SECRET: app.clientSecret, PIPEDRIVE_OAUTH_TOKEN_FILE: store.path, PIPEDRIVE_OAUTH_URL: sim.baseUrl }),
      PIPEDRIVE_API_TOKEN: '',
    });
    expect(await run.exit, run.lines.slice(-10).join('\n')).toBe(0);
    const calls = forwarded().slice(before);
    expect(calls).toContain(`POST ${sim.baseUrl}/oauth/token`);
    expect(calls.filter((c) => c.startsWith('GET ')).length).toBeGreaterThan(0);
    expect(sim.oauth.stats().refreshes).toBe(1);
    expectNoSecrets('producer output', run.lines, [password, ...sim.oauth.secrets()]);
  });

  it('NO_PROXY naming the simulator host: reached directly', async () => {
    const before = forwarded().length;
    const run = runCli(['run', '--once'], env({ HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }));
    expect(await run.exit).toBe(0);
    expect(forwarded().length).toBe(before);
  });

  it('a proxy refusing the credentials: exit 1 saying to check the proxy settings (not the API token), the password never shown', async () => {
    // tinyproxy answers wrong credentials with an HTML 401 (other proxies: 407); neither is Pipedrive's JSON 401.
    const wrong = proxy.url.replace(`:${password}@`, ':not-the-password@');
    const run = runCli(['run', '--once'], env({ HTTP_PROXY: wrong }));
    expect(await run.exit).toBe(1);
    const out = run.lines.join('\n');
    expect(out).toMatch(/401 with HTML page "401 Unauthorized", not Pipedrive's JSON: a proxy or gateway in between refused the request; check the user and password in HTTPS_PROXY \/ HTTP_PROXY/);
    expect(out).not.toContain('PIPEDRIVE_API_TOKEN');
    expectNoSecrets('producer output', run.lines, ['not-the-password', password]);
  });

  it('plain http to a host off this machine is refused before anything is called: exit 2 naming the setting', async () => {
    const run = runCli(['run', '--once'], env({ PIPEDRIVE_BASE_URL: 'http://pipedrive.internal.example:8080' }));
    expect(await run.exit).toBe(2);
    expect(run.lines.join('\n')).toContain(
      'configuration error: PIPEDRIVE_BASE_URL: http://pipedrive.internal.example:8080 is plain http to another host, so Pipedrive credentials would cross the network unencrypted; use https, or set PIPEDRIVE_ALLOW_INSECURE_HTTP=true',
    );
  });
});
