import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { PipedriveAuthError, PipedriveError } from '../../src/pipedrive/errors.ts';
import { OAuthAuth, storedFromGrant } from '../../src/pipedrive/oauth.ts';
import { OAuthServer, parseTokenGrant } from '../../src/pipedrive/oauth-server.ts';
import { TokenStore } from '../../src/pipedrive/token-store.ts';
import { pipedriveDispatcher } from '../../src/pipedrive/transport.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';

let sim: Simulator;
let dir: string;
let store: TokenStore;
let lines: Array<[string, Record<string, unknown> | undefined]>;
const dispatcher = pipedriveDispatcher();
let now: number;

beforeEach(async () => {
  sim = await startSimulator({ seed: 7, deals: 5, clock: new SimClock({ start: new Date('2026-03-01T00:00:00Z'), frozen: true }) });
  dir = mkdtempSync(join(tmpdir(), 'oauth-'));
  store = new TokenStore(join(dir, 'sub', 'tokens.json'));
  lines = [];
  now = Date.parse('2026-03-01T00:00:00Z');
});
afterEach(async () => {
  await sim.close();
});

const app = () => sim.oauth.registered[0]!;
const server = (secret = app().clientSecret, url = sim.baseUrl) => new OAuthServer({ oauthUrl: url, clientId: app().clientId, clientSecret: secret, dispatcher });
/** What `pipedrive-cdc auth` leaves behind: a first grant in the token file. */
function authorized(): void {
  const grant = parseTokenGrant(JSON.stringify(sim.oauth.grantDirectly(app().clientId, sim.baseUrl)), 'test');
  store.write(storedFromGrant(grant, app().clientId, now, sim.baseUrl));
}
const auth = (o: Partial<ConstructorParameters<typeof OAuthAuth>[0]> = {}) =>
  new OAuthAuth({ server: server(), store, clientId: app().clientId, allowInsecureHttp: false, now: () => now, log: (e, f) => lines.push([e, f]), ...o });
const clientWith = (a: OAuthAuth) => new PipedriveClient({ auth: a, dispatcher, maxRetries: 2, sleep: async () => undefined });
const deals = (c: PipedriveClient) => c.getJson('/api/v2/deals', { limit: '500' });

describe('token file', () => {
  it('is written atomically with mode 0600 in a 0700 directory, and read back typed', () => {
    authorized();
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    expect(store.read()).toMatchObject({ clientId: app().clientId, apiDomain: sim.baseUrl, expiresAtMs: now + 3600_000 });
    expect(readFileSync(store.path, 'utf8')).toMatch(/"version": 1/);
  });

  it('a broken or foreign file is refused naming the file and the fix, never its contents', () => {
    writeFileSync(store.path.replace('sub/', ''), '{"version":1,"accessToken":"secret-value"}');
    const broken = new TokenStore(store.path.replace('sub/', ''));
    expect(() => broken.read()).toThrow(/PIPEDRIVE_OAUTH_TOKEN_FILE .*tokens.json: not a token file written by `pipedrive-cdc auth` \("clientId" missing\); run `pipedrive-cdc auth`/);
    expect(() => broken.read()).not.toThrow(/secret-value/);
    expect(() => auth()).toThrow(/no OAuth tokens there yet; run `pipedrive-cdc auth` first/);
    authorized();
    expect(() => auth({ clientId: 'another-app' })).toThrow(/the tokens belong to another OAuth app \(client id .*, PIPEDRIVE_OAUTH_CLIENT_ID is another-app\)/);
  });
});

describe('OAuthAuth with the client', () => {
  it('sends the access token as Bearer to api_domain; refreshes before expiry and stores the rotated token first', async () => {
    authorized();
    const before = store.read()!;
    const c = clientWith(auth());
    expect((await deals(c)).status).toBe(200);
    expect(sim.oauth.stats().refreshes).toBe(0);
    now += 3600_000 - 4 * 60_000; // inside the 5-minute margin
    sim.clock.advance(3600_000 - 4 * 60_000);
    expect((await deals(c)).status).toBe(200);
    const after = store.read()!;
    expect(sim.oauth.stats()).toMatchObject({ refreshes: 1, rejectedBearer: { expired: 0, invalid: 0 } });
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.expiresAtMs).toBe(now + 3600_000);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(lines).toContainEqual(['oauth-token-refreshed', { reason: 'expiring', file: store.path, expiresInS: 3600, refreshTokenRotated: true }]);
  });

  it('a rotated token that cannot be stored is never used: the request fails naming the file', async () => {
    authorized();
    const failing = new (class extends TokenStore {
      override write(): void {
        throw new PipedriveAuthError(`PIPEDRIVE_OAUTH_TOKEN_FILE ${this.path}: cannot store the OAuth tokens (EROFS)`);
      }
    })(store.path);
    const c = clientWith(auth({ store: failing }));
    now += 2 * 3600_000;
    const served = sim.requestCount.count();
    await expect(deals(c)).rejects.toThrow(/cannot store the OAuth tokens \(EROFS\)/);
    expect(sim.oauth.stats().refreshes).toBe(1);
    expect(sim.requestCount.count()).toBe(served); // no API request with the unsaved token
  });

  it('refreshes once on a 401 (the token expired on the server\'s clock, not ours) and repeats the request', async () => {
    authorized();
    const c = clientWith(auth());
    sim.clock.advance(2 * 3600_000);
    expect((await deals(c)).status).toBe(200);
    expect(sim.oauth.stats()).toMatchObject({ refreshes: 1, rejectedBearer: { expired: 1 } });
    expect(lines.find(([e]) => e === 'oauth-token-refreshed')?.[1]).toMatchObject({ reason: 'unauthorized' });
  });

  it('parallel requests share one refresh', async () => {
    authorized();
    const c = clientWith(auth());
    sim.clock.advance(2 * 3600_000);
    const rs = await Promise.all(Array.from({ length: 6 }, () => deals(c)));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(sim.oauth.stats().refreshes).toBe(1);
  });

  it('a revoked refresh token stops with how to re-authorize, and never shows a token', async () => {
    authorized();
    const t = store.read()!;
    const c = clientWith(auth());
    sim.oauth.revokeAll();
    const err = await deals(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipedriveAuthError);
    const e = err as PipedriveAuthError;
    expect(e.retriable).toBe(false);
    expect(e.scope).toBe('connector');
    expect(e.message).toContain(`refreshing the OAuth access token: POST ${sim.baseUrl}/oauth/token: invalid_grant: Invalid grant: refresh_token is invalid`);
    expect(e.message).toContain('run `pipedrive-cdc auth` to authorize again');
    for (const s of [t.accessToken, t.refreshToken, app().clientSecret]) expect(e.message).not.toContain(s);
  });

  it('uses newer tokens from the file (auth run again meanwhile) instead of failing', async () => {
    authorized();
    const a = auth();
    const c = clientWith(a);
    sim.oauth.revokeAll();
    authorized(); // a new grant written by `pipedrive-cdc auth` while the producer runs
    expect((await deals(c)).status).toBe(200);
    expect(lines.map(([e]) => e)).toContain('oauth-tokens-reloaded');
  });

  it('refused client credentials name the settings to fix', async () => {
    authorized();
    sim.clock.advance(2 * 3600_000);
    const err = await deals(clientWith(auth({ server: server('wrong-secret') }))).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(PipedriveAuthError);
    expect((err as Error).message).toMatch(/the OAuth server refused the app's credentials \(invalid_client: Invalid client: client is invalid\); check PIPEDRIVE_OAUTH_CLIENT_ID and PIPEDRIVE_OAUTH_CLIENT_SECRET/);
    expect((err as Error).message).not.toContain('wrong-secret');
  });

  it('an unreachable OAuth server is retried like any outage (retriable, named, no secret)', async () => {
    authorized();
    now += 2 * 3600_000;
    const retries: Array<Record<string, unknown> | undefined> = [];
    const c = new PipedriveClient({ auth: auth({ server: server(undefined, 'http://127.0.0.1:9') }), dispatcher, maxRetries: 1, sleep: async () => undefined, log: (_e, f) => retries.push(f) });
    const err = await deals(c).catch((e: unknown) => e as PipedriveError);
    expect(err).toBeInstanceOf(PipedriveError);
    expect((err as PipedriveError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/refreshing the OAuth access token: POST http:\/\/127.0.0.1:9\/oauth\/token: no answer from Pipedrive's OAuth server/);
    expect(retries).toHaveLength(1);
  });

  it('a plain-http api_domain off this machine is refused before the token is sent', async () => {
    sim.oauth.configure({ apiDomain: 'http://pipedrive-sim.internal:8080' });
    authorized();
    expect(() => auth()).toThrow(/the OAuth api_domain: http:\/\/pipedrive-sim.internal:8080 is plain http to another host.*PIPEDRIVE_ALLOW_INSECURE_HTTP=true/);
    expect(() => auth({ allowInsecureHttp: true })).not.toThrow();
  });
});
