/**
 * `pipedrive-cdc auth`: authorizes the app (OAuth 2.0 authorization code flow) and stores its tokens for
 * the producer. Prints the authorize URL, receives Pipedrive's redirect on a local port, checks `state`,
 * exchanges the code, writes the token file (atomically, 0600). `--revoke` ends the grant and removes
 * the file. No token or secret is ever printed: the authorize URL carries only the public client id,
 * the redirect URI and the one-time state, and is printed in full because the user has to open it.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadPipedriveSettings, type OAuthSettings } from './config.ts';
import { jsonLogger } from './observe/log.ts';
import { OAuthGrantError, OAuthServer, type TokenGrant } from './pipedrive/oauth-server.ts';
import { storedFromGrant } from './pipedrive/oauth.ts';
import { CallbackListenError, listenForCallback } from './pipedrive/oauth-callback.ts';
import { TokenStore } from './pipedrive/token-store.ts';
import { insecureReason, pipedriveDispatcher } from './pipedrive/transport.ts';
import { redactUrl } from './redact.ts';
import { withRetries } from './retry.ts';

export const AUTH_USAGE = `pipedrive-cdc auth [--port N] [--host H] [--timeout S] | --revoke

Authorizes pipedrive-cdc as your Pipedrive app (OAuth 2.0) and stores the tokens for \`pipedrive-cdc run\`.
  --port N     port of the local callback (default 8765, or PIPEDRIVE_OAUTH_REDIRECT_URI's); 0 picks one
  --host H     interface to listen on (default 127.0.0.1)
  --timeout S  seconds to wait for the browser (default 300; Pipedrive's codes live 5 minutes)
  --revoke     revoke the stored authorization at Pipedrive and delete the token file
The app's callback URL (Developer Hub) must be PIPEDRIVE_OAUTH_REDIRECT_URI, or http://127.0.0.1:<port>/callback.
Environment: PIPEDRIVE_OAUTH_CLIENT_ID, PIPEDRIVE_OAUTH_CLIENT_SECRET (or _FILE), PIPEDRIVE_OAUTH_TOKEN_FILE,
  PIPEDRIVE_OAUTH_URL, PIPEDRIVE_OAUTH_REDIRECT_URI, HTTPS_PROXY, NO_PROXY, PIPEDRIVE_ALLOW_INSECURE_HTTP
Exit codes: 0 authorized (or revoked), 1 not authorized (denied, timed out, refused), 2 bad settings or arguments`;

const DEFAULT_PORT = 8765;

export async function runAuth(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' }, timeout: { type: 'string' }, revoke: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${AUTH_USAGE}\n`);
    return 0;
  }
  // Asked first: without it the settings would complain about the API token, which `auth` does not use.
  const noClient = new ConfigError('PIPEDRIVE_OAUTH_CLIENT_ID: required for `pipedrive-cdc auth` — the client id of your Pipedrive app (Developer Hub → OAuth & access scopes), with PIPEDRIVE_OAUTH_CLIENT_SECRET');
  if (!process.env.PIPEDRIVE_OAUTH_CLIENT_ID?.trim()) throw noClient;
  const settings = loadPipedriveSettings();
  if (settings.auth.kind !== 'oauth') throw noClient;
  const oauth = settings.auth;
  const dispatcher = pipedriveDispatcher({ proxy: settings.proxy });
  const server = new OAuthServer({ oauthUrl: oauth.oauthUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret, dispatcher });
  const store = new TokenStore(oauth.tokenFile);
  try {
    if (values.revoke) return await revoke(server, store);
    return await authorize(server, store, oauth, settings.allowInsecureHttp, {
      port: intArg('--port', values.port, 0, 65_535),
      host: values.host ?? '127.0.0.1',
      timeoutMs: (intArg('--timeout', values.timeout, 1, 86_400) ?? 300) * 1000,
    });
  } finally {
    await dispatcher.close();
  }
}

async function authorize(server: OAuthServer, store: TokenStore, oauth: OAuthSettings, allowInsecureHttp: boolean, args: { port: number | undefined; host: string; timeoutMs: number }): Promise<number> {
  const configured = oauth.redirectUri ? new URL(oauth.redirectUri) : undefined;
  const port = args.port ?? (configured?.port ? Number(configured.port) : configured ? (configured.protocol === 'https:' ? 443 : 80) : DEFAULT_PORT);
  const path = configured?.pathname ?? '/callback';
  const state = randomBytes(24).toString('base64url');
  let listener;
  try {
    listener = await listenForCallback({ host: args.host, port, path, state, timeoutMs: args.timeoutMs, onIgnored: (why) => process.stderr.write(`ignored ${why}\n`) });
  } catch (err) {
    if (err instanceof CallbackListenError) throw new ConfigError(err.message);
    throw err;
  }
  try {
    const redirectUri = oauth.redirectUri ?? `http://127.0.0.1:${listener.port}${path}`;
    process.stdout.write(
      `Open this URL in a browser, signed in to Pipedrive as the user whose data the producer reads (an admin sees everything), and choose "Allow and install":\n\n` +
        `  ${server.authorizeUrl(redirectUri, state)}\n\n` +
        `Waiting up to ${Math.round(args.timeoutMs / 1000)} s for Pipedrive to redirect to ${redactUrl(redirectUri)} (listening on ${args.host}:${listener.port}) …\n`,
    );
    const code = await listener.code;
    const log = jsonLogger('auth');
    let grant: TokenGrant;
    try {
      // A lost answer is retried; if the code was used meanwhile, the grant error below says to start over.
      grant = await withRetries(() => server.exchangeCode(code, redirectUri), { dependency: 'pipedrive', what: 'exchanging the authorization code', log, maxAttempts: 3 });
    } catch (err) {
      if (err instanceof OAuthGrantError) throw new OAuthGrantError(`${err.message}; run \`pipedrive-cdc auth\` again (a code works once, for 5 minutes)`);
      throw err;
    }
    const stored = storedFromGrant(grant, oauth.clientId, Date.now(), 'https://api.pipedrive.com');
    const insecure = insecureReason(stored.apiDomain, 'the OAuth api_domain', allowInsecureHttp);
    if (insecure) throw new ConfigError(insecure);
    store.write(stored);
    process.stdout.write(
      `Authorized. Tokens stored in ${store.path} (readable by this user only).\n` +
        `  API domain: ${redactUrl(stored.apiDomain)}\n  scope: ${stored.scope ?? '(not reported)'}\n` +
        `  access token valid ${grant.expiresInS} s; the producer renews it (the refresh token lapses after 60 days unused).\n` +
        `Start the producer with the same PIPEDRIVE_OAUTH_* settings: pipedrive-cdc run\n`,
    );
    return 0;
  } finally {
    await listener.close();
  }
}

/** Ends the grant at Pipedrive (revoking the refresh token revokes its access tokens too), then deletes the file. */
async function revoke(server: OAuthServer, store: TokenStore): Promise<number> {
  const tokens = store.read();
  if (!tokens) {
    process.stdout.write(`Nothing to revoke: no token file at ${store.path}.\n`);
    return 0;
  }
  await server.revoke(tokens.refreshToken, 'refresh_token');
  store.remove();
  process.stdout.write(`Revoked the authorization at Pipedrive and deleted ${store.path}.\n`);
  return 0;
}

function intArg(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new ConfigError(`${flag}: "${v}" must be a whole number from ${min} to ${max}`);
  return Number(v);
}
