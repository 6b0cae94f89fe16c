import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, readTopic, runCli, services, uniqueName, type CliRun } from './support/harness.ts';
import { consentInBrowser, expectNoSecrets, waitForText } from './support/oauth.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

/**
 * OAuth 2.0 end to end, in real processes against the local Pipedrive: `pipedrive-cdc auth` driven like a
 * browser would, a producer syncing across several access-token expiries on the simulator's clock, and a
 * revoked grant stopping it with exit 1 and nothing advanced. No token, code or secret may show up in any
 * output line, metric, state record or data record.
 */
describe('OAuth: authorize, sync across token expiries, stop on a revoked grant', () => {
  let sim: Simulator;
  const dir = mkdtempSync(join(tmpdir(), 'pcdc-oauth-'));
  const tokenFile = join(dir, 'config', 'oauth-tokens.json');
  const secretFile = join(dir, 'client-secret');
  const prefix = uniqueName('oauth');
  /** Every secret that existed during the test (the simulator forgets used codes: those are added here). */
  const secrets = new Set<string>();
  const outputs: string[] = [];
  const collect = (run: CliRun) => outputs.push(...run.lines);
  const allSecrets = () => new Set([...secrets, ...sim.oauth.secrets(), sim.token]);

  const oauthEnv = () => ({
    PIPEDRIVE_OAUTH_CLIENT_ID: sim.oauth.registered[0]!.clientId,
    PIPEDRIVE_OAUTH_CLIENT_SECRET_FILE: secretFile,
    PIPEDRIVE_OAUTH_TOKEN_FILE: tokenFile,
    PIPEDRIVE_OAUTH_URL: sim.baseUrl,
  });
  const producerEnv = (extra: Record<string, string> = {}) => ({
    ...oauthEnv(),
    KAFKA_BROKERS: services().brokers.join(','),
    SCHEMA_REGISTRY_URL: services().registryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    TABLES: 'deal',
    POLL_INTERVAL_MS: '300',
    METRICS_PORT: '0',
    ...extra,
  });

  beforeAll(async () => {
    sim = await startSimulator({ seed: 11, deals: 30 });
    writeFileSync(secretFile, `${sim.oauth.registered[0]!.clientSecret}\n`);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('auth: prints the authorize URL, ignores a forged callback, stores the tokens of the granted one (0600)', async () => {
    const run = runCli(['auth', '--port', '0', '--timeout', '60'], oauthEnv());
    const line = await waitForText(run, /\/oauth\/authorize\?/);
    const authorizeUrl = new URL(line.trim());
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${sim.baseUrl}/oauth/authorize`);
    const callback = new URL(authorizeUrl.searchParams.get('redirect_uri')!);
    expect(callback.hostname).toBe('127.0.0.1');
    expect(callback.pathname).toBe('/callback');

    const forged = await fetch(`${callback.href}?code=stolen&state=not-the-state`);
    expect(forged.status).toBe(400);
    await waitForText(run, /ignored a callback whose state is not the one this run sent/);

    const back = await consentInBrowser(authorizeUrl.href, 'allow');
    expect(back.searchParams.get('state')).toBe(authorizeUrl.searchParams.get('state'));
    secrets.add(back.searchParams.get('code')!);
    const done = await fetch(back);
    expect(done.status).toBe(200);
    expect(await run.exit).toBe(0);
    collect(run);

    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ version: 1, clientId: sim.oauth.registered[0]!.clientId, apiDomain: sim.baseUrl });
    expect(run.lines.join('\n')).toContain(`Authorized. Tokens stored in ${tokenFile}`);
    expect(sim.oauth.stats()).toMatchObject({ codesIssued: 1, grants: 1 });
    expectNoSecrets('auth output', run.lines, allSecrets());
  });

  it('run: syncs across three access-token expiries on the simulator clock; every deal version arrives once', async () => {
    const firstRefresh = (JSON.parse(readFileSync(tokenFile, 'utf8')) as { refreshToken: string }).refreshToken;
    const producer = runCli(['run'], producerEnv());
    try {
      const metricsUrl = String((await producer.waitForLine((l) => l.event === 'metrics')).url);
      const dealRecords = async () => metricSum(await (await fetch(metricsUrl)).text(), 'pipedrive_cdc_records_total', { table: 'deal' });
      await until(async () => (await dealRecords()) >= 30, 'the first sync of 30 deals');
      for (let round = 1; round <= 3; round++) {
        sim.clock.advance(3600_000 + 1000); // past the access token's expires_in (3600 s)
        for (const id of [round, round + 10, round + 20]) await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${id}`, { title: `round ${round}, deal ${id}` });
        await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: `new in round ${round}` });
        await until(async () => (await dealRecords()) >= 30 + 4 * round, `round ${round}'s 4 changes`);
        expect(sim.oauth.stats().refreshes, `refreshes after round ${round}`).toBe(round);
      }
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metricSum(metrics, 'pipedrive_cdc_records_total', { table: 'deal' })).toBe(30 + 3 * 4);
      expect(metricSum(metrics, 'pipedrive_cdc_api_requests_total', { status: '401' })).toBe(3);
      outputs.push(metrics);
    } finally {
      producer.child.kill('SIGTERM');
    }
    expect(await producer.exit).toBe(0);
    collect(producer);

    // The producer's clock did not move: each expiry was met by one 401, one refresh, one repeat.
    expect(sim.oauth.stats()).toMatchObject({ refreshes: 3, rejectedBearer: { expired: 3, invalid: 0 } });
    const refreshed = producer.lines.map(parseJsonLine).filter((l) => l?.event === 'oauth-token-refreshed');
    expect(refreshed).toHaveLength(3);
    for (const l of refreshed) expect(l).toMatchObject({ reason: 'unauthorized', refreshTokenRotated: true, file: tokenFile });
    expect((JSON.parse(readFileSync(tokenFile, 'utf8')) as { refreshToken: string }).refreshToken).not.toBe(firstRefresh);

    const source = await listAllDeals(sim.baseUrl, sim.token);
    const records = await readTopic(`${prefix}.deal`);
    const versions = records.filter((r) => r.value !== null).map((r) => `${(r.key as { id: number }).id}@${String((r.value as { __source_ts_ms: unknown }).__source_ts_ms)}`);
    expect(new Set(versions).size, 'no version twice').toBe(versions.length);
    expect(new Set(records.map((r) => (r.key as { id: number }).id))).toEqual(new Set(source.map((d) => Number(d.id))));
    expect(versions.length).toBe(30 + 3 * 4);
    for (const d of source.filter((x) => String(x.title).startsWith('round'))) {
      const last = records.filter((r) => (r.key as { id: number }).id === Number(d.id)).at(-1)!.value as { title: string };
      expect(last.title).toBe(d.title);
    }
    outputs.push(...records.map((r) => JSON.stringify(r.value)));
  });

  it('run: a revoked refresh token stops the producer (exit 1, how to re-authorize), nothing advanced', async () => {
    const stateBefore = await readTopic(`${prefix}._state`, { decode: false });
    const { refreshToken } = JSON.parse(readFileSync(tokenFile, 'utf8')) as { refreshToken: string };
    // The app is uninstalled (RFC 7009 revocation of the refresh token ends the grant, access tokens too).
    const app = sim.oauth.registered[0]!;
    const revoked = await fetch(`${sim.baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }).toString(),
    });
    expect(revoked.status).toBe(200);
    for (const id of [4, 5]) await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${id}`, { title: `after the revocation ${id}` });

    const run = runCli(['run', '--once'], producerEnv());
    expect(await run.exit).toBe(1);
    collect(run);
    const out = run.lines.join('\n');
    expect(out).toContain('refreshing the OAuth access token');
    expect(out).toContain('Invalid grant: refresh_token is invalid');
    expect(out).toContain('run `pipedrive-cdc auth` to authorize again');
    expect(out).toContain(tokenFile);
    expect(run.lines.map(parseJsonLine).some((l) => l?.event === 'batch-committed')).toBe(false);

    const stateAfter = await readTopic(`${prefix}._state`, { decode: false });
    expect(stateAfter.length).toBe(stateBefore.length);
    expect(stateAfter.map((r) => [r.partition, String(r.offset), String(r.value)])).toEqual(stateBefore.map((r) => [r.partition, String(r.offset), String(r.value)]));
    outputs.push(...stateAfter.map((r) => `${String(r.key)} ${String(r.value)}`));
  });

  it('auth --revoke ends the grant at Pipedrive and deletes the token file', async () => {
    const revocations = sim.oauth.stats().revocations;
    const run = runCli(['auth', '--revoke'], oauthEnv());
    expect(await run.exit).toBe(0);
    collect(run);
    expect(run.lines.join('\n')).toContain(`Revoked the authorization at Pipedrive and deleted ${tokenFile}`);
    expect(existsSync(tokenFile)).toBe(false);
    expect(sim.oauth.stats().revocations).toBe(revocations + 1);
    const missing = runCli(['run', '--once'], producerEnv());
    expect(await missing.exit).toBe(1);
    collect(missing);
    expect(missing.lines.join('\n')).toContain(`PIPEDRIVE_OAUTH_TOKEN_FILE ${tokenFile}: no OAuth tokens there yet; run \`pipedrive-cdc auth\` first`);
  });

  it('auth: a denial exits 1 saying so; no client id or a busy port exit 2 naming the setting', async () => {
    const denied = runCli(['auth', '--port', '0', '--timeout', '30'], oauthEnv());
    const url = (await waitForText(denied, /\/oauth\/authorize\?/)).trim();
    const back = await consentInBrowser(url, 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    await fetch(back);
    expect(await denied.exit).toBe(1);
    collect(denied);
    expect(denied.lines.join('\n')).toContain('Pipedrive did not grant access (access_denied); run `pipedrive-cdc auth` again');
    expect(existsSync(tokenFile)).toBe(false);

    const noClient = runCli(['auth'], { ...oauthEnv(), PIPEDRIVE_OAUTH_CLIENT_ID: '' });
    expect(await noClient.exit).toBe(2);
    expect(noClient.lines.join('\n')).toContain('configuration error: PIPEDRIVE_OAUTH_CLIENT_ID: required for `pipedrive-cdc auth`');

    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (busy.address() as { port: number }).port;
      const inUse = runCli(['auth', '--port', String(port)], oauthEnv());
      expect(await inUse.exit).toBe(2);
      expect(inUse.lines.join('\n')).toContain(`configuration error: --port ${port} on 127.0.0.1 is in use by another process; pass a free port with --port`);
    } finally {
      busy.close();
    }
  });

  it('no token, code or secret in any output line, metric, state or data record', () => {
    expect(outputs.length).toBeGreaterThan(50);
    expectNoSecrets('outputs', outputs, allSecrets());
  });
});

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The sum of a Prometheus text-format metric over the series whose labels include `labels`. */
function metricSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
