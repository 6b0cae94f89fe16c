import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadPipedriveSettings, loadProducerConfig } from '../src/config.ts';

const kafka = { KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081' };
const oauth = { PIPEDRIVE_OAUTH_CLIENT_ID: 'client-1', PIPEDRIVE_OAUTH_CLIENT_SECRET: 'client-secret-xyz' };

describe('Pipedrive settings: auth', () => {
  it('an API token by default, OAuth when PIPEDRIVE_OAUTH_CLIENT_ID is set (API token and base URL then unused)', () => {
    expect(loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't' }).auth).toEqual({ kind: 'api-token', baseUrl: 'https://api.pipedrive.com', apiToken: 't' });
    const s = loadPipedriveSettings({ ...oauth, PIPEDRIVE_API_TOKEN: 'ignored', XDG_CONFIG_HOME: '/cfg' });
    expect(s.auth).toEqual({
      kind: 'oauth',
      clientId: 'client-1',
      clientSecret: 'client-secret-xyz',
      tokenFile: '/cfg/pipedrive-cdc/oauth-tokens.json',
      oauthUrl: 'https://oauth.pipedrive.com',
      redirectUri: undefined,
    });
    expect(loadPipedriveSettings({ ...oauth, HOME: '/users/u' }).auth).toMatchObject({ tokenFile: '/users/u/.config/pipedrive-cdc/oauth-tokens.json' });
    expect(loadPipedriveSettings({ ...oauth, PIPEDRIVE_OAUTH_TOKEN_FILE: '/run/tokens.json' }).auth).toMatchObject({ tokenFile: '/run/tokens.json' });
  });

  it('secrets from *_FILE (one trailing newline dropped); both forms set is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'secret'), 'from-file\n');
    writeFileSync(join(dir, 'empty'), '');
    expect(loadPipedriveSettings({ PIPEDRIVE_OAUTH_CLIENT_ID: 'c', PIPEDRIVE_OAUTH_CLIENT_SECRET_FILE: join(dir, 'secret') }).auth).toMatchObject({ clientSecret: 'from-file' });
    expect(loadPipedriveSettings({ PIPEDRIVE_API_TOKEN_FILE: join(dir, 'secret') }).auth).toMatchObject({ apiToken: 'from-file' });
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 'a', PIPEDRIVE_API_TOKEN_FILE: join(dir, 'secret') })).toThrow('PIPEDRIVE_API_TOKEN and PIPEDRIVE_API_TOKEN_FILE: both set; set only one');
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN_FILE: join(dir, 'missing') })).toThrow(/PIPEDRIVE_API_TOKEN_FILE: cannot read .*missing \(ENOENT\)/);
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN_FILE: join(dir, 'empty') })).toThrow(/PIPEDRIVE_API_TOKEN_FILE: .*empty is empty/);
  });

  it.each([
    [{}, /PIPEDRIVE_API_TOKEN: required .* or set PIPEDRIVE_OAUTH_CLIENT_ID and PIPEDRIVE_OAUTH_CLIENT_SECRET to use OAuth/],
    [{ PIPEDRIVE_OAUTH_CLIENT_ID: 'c' }, /PIPEDRIVE_OAUTH_CLIENT_SECRET: required with PIPEDRIVE_OAUTH_CLIENT_ID/],
    [{ ...oauth, PIPEDRIVE_OAUTH_URL: 'ftp://x' }, /PIPEDRIVE_OAUTH_URL: must be http\(s\)/],
    [{ ...oauth, PIPEDRIVE_OAUTH_REDIRECT_URI: 'nope' }, /PIPEDRIVE_OAUTH_REDIRECT_URI: "nope" is not a URL/],
    [{ PIPEDRIVE_API_TOKEN: 't', PIPEDRIVE_ALLOW_INSECURE_HTTP: 'yes' }, /PIPEDRIVE_ALLOW_INSECURE_HTTP: "yes" must be true or false/],
  ])('%o: a ConfigError naming the setting', (env, message) => {
    expect(() => loadPipedriveSettings(env)).toThrow(ConfigError);
    expect(() => loadPipedriveSettings(env)).toThrow(message);
  });
});

describe('Pipedrive settings: transport', () => {
  it('refuses plain http to a host off this machine unless PIPEDRIVE_ALLOW_INSECURE_HTTP=true', () => {
    const refused = /PIPEDRIVE_BASE_URL: http:\/\/pipedrive-sim:8080 is plain http to another host.*set PIPEDRIVE_ALLOW_INSECURE_HTTP=true/;
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', PIPEDRIVE_BASE_URL: 'http://pipedrive-sim:8080' })).toThrow(refused);
    expect(loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', PIPEDRIVE_BASE_URL: 'http://pipedrive-sim:8080', PIPEDRIVE_ALLOW_INSECURE_HTTP: 'true' }).allowInsecureHttp).toBe(true);
    for (const local of ['http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:2', 'http://0.0.0.0:8080', 'http://127.1.2.3']) {
      expect(loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', PIPEDRIVE_BASE_URL: local }).auth).toMatchObject({ baseUrl: local });
    }
    expect(() => loadPipedriveSettings({ ...oauth, PIPEDRIVE_OAUTH_URL: 'http://oauth.example' })).toThrow(/PIPEDRIVE_OAUTH_URL: http:\/\/oauth.example is plain http/);
    // The base URL is not used with OAuth (api_domain is checked when it arrives).
    expect(loadPipedriveSettings({ ...oauth, PIPEDRIVE_BASE_URL: 'http://pipedrive-sim:8080' }).auth.kind).toBe('oauth');
  });

  it('proxies: lower case wins, URLs validated, shown redacted', () => {
    const s = loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://alice:pw@lower:3128', HTTP_PROXY: 'http://h:1', NO_PROXY: 'localhost,.internal' });
    expect(s.proxy).toEqual({ httpsProxy: 'http://alice:pw@lower:3128', httpProxy: 'http://h:1', noProxy: 'localhost,.internal' });
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', HTTPS_PROXY: 'socks4://u:pw@x:1' })).toThrow('HTTPS_PROXY: socks4://***@x:1 must be an http:// or https:// proxy URL');
    expect(() => loadPipedriveSettings({ PIPEDRIVE_API_TOKEN: 't', http_proxy: '::' })).toThrow(/HTTP_PROXY: not a URL/);
  });

  it('describeConfig shows no secret and no URL credentials', () => {
    const c = loadProducerConfig({
      ...kafka,
      ...oauth,
      SCHEMA_REGISTRY_URL: 'http://reg:regpw@localhost:8081/apis/ccompat/v7',
      PIPEDRIVE_API_TOKEN: 'api-token-abc',
      HTTPS_PROXY: 'http://alice:proxypw@proxy:3128',
      PIPEDRIVE_OAUTH_REDIRECT_URI: 'http://127.0.0.1:8765/callback?x=1',
    });
    const shown = describeConfig(c);
    for (const secret of ['client-secret-xyz', 'api-token-abc', 'proxypw', 'regpw', 'x=1']) expect(shown).not.toContain(secret);
    expect(JSON.parse(shown).pipedrive).toEqual({
      auth: { kind: 'oauth', clientId: 'client-1', tokenFile: expect.any(String), oauthUrl: 'https://oauth.pipedrive.com', redirectUri: 'http://127.0.0.1:8765/callback?***' },
      proxy: { httpsProxy: 'http://***@proxy:3128' },
      allowInsecureHttp: false,
    });
  });
});
