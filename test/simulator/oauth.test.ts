import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { OAUTH_DEVIATIONS } from './spec-deviations.ts';
import { startFrozen } from './helpers.ts';
import { compileV1, v1ResponseSchema } from './v1-spec.ts';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const HOUR = 3600_000;

let sim: Simulator;
let app: { clientId: string; clientSecret: string };
beforeEach(async () => {
  sim = await startFrozen({ deals: 3 });
  app = sim.oauth.registered[0]!;
});
afterEach(async () => {
  await sim.close();
});

const basic = (id = app.clientId, secret = app.clientSecret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function post(path: string, form: Record<string, string>, headers: Record<string, string> = { authorization: basic() }) {
  const res = await fetch(`${sim.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString(), redirect: 'manual' });
  const text = await res.text();
  const json = /json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, body: (json ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

/** What a browser does: open the authorize URL, submit the consent form with the chosen button, return the redirect. */
async function authorizeInBrowser(decision: 'allow' | 'deny', state = 'st-123'): Promise<URL> {
  const q = new URLSearchParams({ client_id: app.clientId, redirect_uri: REDIRECT, state });
  const page = await fetch(`${sim.baseUrl}/oauth/authorize?${q}`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const html = await page.text();
  const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replaceAll('&amp;', '&')]));
  expect(html).toContain('<form method="post" action="/oauth/authorize">');
  const res = await fetch(`${sim.baseUrl}/oauth/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, decision }).toString(),
    redirect: 'manual',
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function firstGrant(): Promise<Record<string, unknown>> {
  const back = await authorizeInBrowser('allow');
  const r = await post('/oauth/token', { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT });
  expect(r.status).toBe(200);
  return r.body;
}

const api = (path: string, accessToken: string) => fetch(`${sim.baseUrl}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });

describe('authorize', () => {
  it('consent page → allow → redirect to the callback with a code and the state; deny → error=access_denied', async () => {
    const allowed = await authorizeInBrowser('allow');
    expect(`${allowed.origin}${allowed.pathname}`).toBe(REDIRECT);
    expect(allowed.searchParams.get('state')).toBe('st-123');
    expect(allowed.searchParams.get('code')).toMatch(/^[0-9a-f]{40}$/);
    const denied = await authorizeInBrowser('deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('code')).toBeNull();
  });

  it('never redirects to an unregistered callback or for an unknown app; a consent form answers once', async () => {
    const open = (q: Record<string, string>) => fetch(`${sim.baseUrl}/oauth/authorize?${new URLSearchParams(q)}`, { redirect: 'manual' });
    expect((await open({ client_id: 'nobody', redirect_uri: REDIRECT })).status).toBe(400);
    const bad = await open({ client_id: app.clientId, redirect_uri: 'https://evil.example/cb' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Invalid request: redirect_uri is invalid');
    const html = await (await open({ client_id: app.clientId, redirect_uri: REDIRECT, state: '<script>' })).text();
    expect(html).not.toContain('<script>');
    const consent = /name="consent" value="([^"]+)"/.exec(html)![1]!;
    const submit = () => post('/oauth/authorize', { client_id: app.clientId, redirect_uri: REDIRECT, consent, decision: 'allow' }, {});
    expect((await submit()).status).toBe(302);
    expect((await submit()).status).toBe(400);
  });

  it('autoApprove redirects with a code at once (scriptable without a page)', async () => {
    sim.oauth.configure({ autoApprove: true });
    const res = await fetch(`${sim.baseUrl}/oauth/authorize?${new URLSearchParams({ client_id: app.clientId, redirect_uri: REDIRECT, state: 's' })}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });
});

describe('token endpoint', () => {
  it('exchanges a code for tokens in the spec shape (get-tokens), once', async () => {
    const back = await authorizeInBrowser('allow');
    const code = back.searchParams.get('code')!;
    const r = await post('/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const validate = compileV1(v1ResponseSchema('get-tokens'));
    expect(validate(r.body), JSON.stringify(validate.errors)).toBe(true);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, api_domain: sim.baseUrl, scope: expect.stringContaining('base') });
    expect(r.body.access_token).toMatch(/^v1u:/);
    expect(r.body.refresh_token).toMatch(/^1:1:[0-9a-f]{40}$/);
    const again = await post('/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(again).toMatchObject({ status: 400, body: { success: false, error: 'invalid_grant', message: 'Invalid grant: authorization_code is invalid' } });
  });

  it('codes expire after 5 minutes of sim time and are bound to their redirect_uri', async () => {
    const late = (await authorizeInBrowser('allow')).searchParams.get('code')!;
    sim.clock.advance(5 * 60_000 + 1000);
    expect((await post('/oauth/token', { grant_type: 'authorization_code', code: late, redirect_uri: REDIRECT })).body.message).toBe('Invalid grant: authorization_code has expired');
    const other = (await authorizeInBrowser('allow')).searchParams.get('code')!;
    expect((await post('/oauth/token', { grant_type: 'authorization_code', code: other, redirect_uri: 'http://127.0.0.1:1/x' })).body.message).toBe('Invalid request: redirect_uri is invalid');
  });

  it('refreshes in the spec shape (refresh-tokens), rotating the refresh token; the old one is refused', async () => {
    const first = await firstGrant();
    const r = await post('/oauth/token/', { grant_type: 'refresh_token', refresh_token: String(first.refresh_token) });
    expect(r.status).toBe(200);
    const validate = compileV1(v1ResponseSchema('refresh-tokens'));
    expect(validate(r.body), JSON.stringify(validate.errors)).toBe(true);
    expect(r.body.refresh_token).not.toBe(first.refresh_token);
    expect(r.body.access_token).not.toBe(first.access_token);
    const reused = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: String(first.refresh_token) });
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant', message: 'Invalid grant: refresh_token is invalid' } });
    expect(sim.oauth.stats()).toMatchObject({ grants: 1, refreshes: 1, accessTokensIssued: 2, tokenErrors: { invalid_grant: 1 } });
  });

  it('without rotation the refresh token stays and works again; unused for 60 days it expires', async () => {
    sim.oauth.configure({ rotateRefreshTokens: false });
    const first = await firstGrant();
    const refresh = String(first.refresh_token);
    for (let i = 0; i < 2; i++) {
      const r = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: refresh });
      expect(r.body.refresh_token).toBe(refresh);
    }
    sim.clock.advance(60 * 24 * HOUR + 1000);
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: refresh })).body.message).toBe('Invalid grant: refresh_token has expired');
  });

  it.each([
    ['a wrong secret', () => ({ authorization: basic(undefined, 'wrong') }), { grant_type: 'refresh_token', refresh_token: 'x' }, 401, 'invalid_client', 'Invalid client: client is invalid'],
    ['no client credentials', () => ({}), { grant_type: 'refresh_token', refresh_token: 'x' }, 400, 'invalid_client', 'Invalid client: cannot retrieve client credentials'],
    ['no grant_type', () => ({ authorization: basic() }), {}, 400, 'invalid_request', 'Missing parameter: grant_type'],
    ['an unknown grant_type', () => ({ authorization: basic() }), { grant_type: 'password' }, 400, 'unsupported_grant_type', 'Unsupported grant type: grant_type is invalid'],
  ])('refuses %s with Pipedrive\'s message', async (_what, headers, form, status, error, message) => {
    const r = await post('/oauth/token', form, headers());
    expect(r).toMatchObject({ status, body: { success: false, error, message } });
    if (status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('accepts client credentials as form fields (Pipedrive\'s fallback) and refuses JSON bodies', async () => {
    const first = await firstGrant();
    const r = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: String(first.refresh_token), client_id: app.clientId, client_secret: app.clientSecret }, {});
    expect(r.status).toBe(200);
    const json = await fetch(`${sim.baseUrl}/oauth/token`, { method: 'POST', headers: { authorization: basic(), 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { message: string }).message).toBe('Invalid request: content must be application/x-www-form-urlencoded');
  });
});

describe('the API with OAuth', () => {
  it('accepts a live bearer token on v1 and v2; expired on the sim clock or revoked → 401 like Pipedrive', async () => {
    const t = await firstGrant();
    const access = String(t.access_token);
    expect((await api('/api/v2/deals', access)).status).toBe(200);
    expect((await api('/v1/users/me', access)).status).toBe(200);
    sim.clock.advance(HOUR);
    const expired = await api('/api/v2/deals', access);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ success: false, error: 'Invalid token: access token has expired', errorCode: 401, error_info: expect.any(String) });
    const fresh = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: String(t.refresh_token) });
    expect((await api('/api/v2/deals', String(fresh.body.access_token))).status).toBe(200);
    expect(await (await api('/api/v2/deals', 'v1u:made-up')).json()).toMatchObject({ error: 'Invalid token: access token is invalid' });
    expect((await fetch(`${sim.baseUrl}/api/v2/deals`, { headers: { authorization: 'Token abc' } })).status).toBe(400);
    expect(sim.oauth.stats().rejectedBearer).toEqual({ expired: 1, invalid: 1 });
  });

  it('revoking the refresh token ends the grant (its access tokens too); an access token only itself', async () => {
    const a = await firstGrant();
    const b = await firstGrant();
    expect((await post('/oauth/revoke', { token: String(b.access_token), token_type_hint: 'access_token' })).status).toBe(200);
    expect((await api('/api/v2/deals', String(b.access_token))).status).toBe(401);
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: String(b.refresh_token) })).status).toBe(200);

    expect((await post('/oauth/revoke', { token: String(a.refresh_token), token_type_hint: 'refresh_token' })).status).toBe(200);
    expect((await api('/api/v2/deals', String(a.access_token))).status).toBe(401);
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: String(a.refresh_token) })).body.error).toBe('invalid_grant');
    expect((await post('/oauth/revoke', { token: 'unknown' })).status).toBe(200); // RFC 7009: no error for unknown tokens
  });

  it('/_sim/oauth reports and configures without showing a token or secret', async () => {
    await firstGrant();
    const shown = await (await fetch(`${sim.baseUrl}/_sim/oauth`)).text();
    for (const secret of sim.oauth.secrets()) expect(shown).not.toContain(secret);
    expect(JSON.parse(shown).data).toMatchObject({ clients: [app.clientId], stats: { grants: 1, liveAccessTokens: 1 }, config: { accessTokenTtlS: 3600 } });
    const set = await fetch(`${sim.baseUrl}/_sim/oauth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessTokenTtlS: 60, revokeAll: true }) });
    expect(((await set.json()) as { data: { config: { accessTokenTtlS: number }; stats: { liveAccessTokens: number } } }).data).toMatchObject({ config: { accessTokenTtlS: 60 }, stats: { liveAccessTokens: 0 } });
    const bad = await fetch(`${sim.baseUrl}/_sim/oauth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessTokenTtlS: -1 }) });
    expect(bad.status).toBe(400);
  });

  it('documents every deviation from the spec with a reason', () => {
    for (const reason of Object.values(OAUTH_DEVIATIONS)) expect(reason.length).toBeGreaterThan(20);
  });
});

describe('sim CLI', () => {
  it('parses the OAuth flags; bad values are usage errors naming the flag', async () => {
    const { parseSimArgs, UsageError } = await import('../../src/simulator/cli.ts');
    expect(parseSimArgs(['--oauth-client-id', 'app', '--oauth-client-secret', 'sec', '--oauth-expires-in', '60', '--oauth-auto-approve', '--api-domain', 'http://sim:8080/'])?.oauth).toEqual({
      clients: [{ clientId: 'app', clientSecret: 'sec' }],
      accessTokenTtlS: 60,
      autoApprove: true,
      apiDomain: 'http://sim:8080',
    });
    expect(() => parseSimArgs(['--oauth-expires-in', '0'])).toThrow(UsageError);
    expect(() => parseSimArgs(['--api-domain', 'sim:8080'])).toThrow('option --api-domain must be an http(s) URL, got "sim:8080"');
  });
});
