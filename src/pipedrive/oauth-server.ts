/**
 * Pipedrive's OAuth 2.0 server (https://oauth.pipedrive.com, or the local Pipedrive): the authorize URL,
 * the token endpoint (authorization_code and refresh_token grants, client authenticated with HTTP basic
 * auth as Pipedrive documents), and revocation (RFC 7009). Answers are parsed into typed values here;
 * a malformed one never leaves this module. No message ever holds a token, code or secret: error bodies
 * are reduced to the server's error code and message, with anything we sent scrubbed out.
 */
import { request, type Dispatcher } from 'undici';
import { redactUrl, redactUrlsIn } from '../redact.ts';
import { describeError } from '../retry.ts';
import { PipedriveAuthError, PipedriveError } from './errors.ts';

export const DEFAULT_OAUTH_URL = 'https://oauth.pipedrive.com';

/** A token endpoint answer, typed. */
export interface TokenGrant {
  readonly accessToken: string;
  /** Absent when the server keeps the refresh token it was given (no rotation). */
  readonly refreshToken: string | undefined;
  readonly scope: string | undefined;
  readonly expiresInS: number;
  /** The company's API base URL, e.g. https://acme.pipedrive.com (Pipedrive's `api_domain`). */
  readonly apiDomain: string | undefined;
}

export interface OAuthServerOptions {
  /** e.g. https://oauth.pipedrive.com; no trailing slash needed. */
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs?: number;
}

/** What the operator sees when the server refuses the app itself. */
const CLIENT_REMEDY = 'check PIPEDRIVE_OAUTH_CLIENT_ID and PIPEDRIVE_OAUTH_CLIENT_SECRET (Developer Hub → your app → OAuth & access scopes)';

export class OAuthServer {
  private readonly base: string;

  constructor(private readonly opts: OAuthServerOptions) {
    this.base = opts.oauthUrl.replace(/\/+$/, '');
  }

  /** The page the user opens to grant access. `state` comes back with the code and proves the callback is ours. */
  authorizeUrl(redirectUri: string, state: string): string {
    return authorizeUrlOf(this.base, this.opts.clientId, redirectUri, state);
  }

  /** Exchanges an authorization code (valid 5 minutes, once) for tokens. */
  exchangeCode(code: string, redirectUri: string, signal?: AbortSignal): Promise<TokenGrant> {
    return this.token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }, [code], 'exchanging the authorization code', signal);
  }

  /** A new access token (and, when the server rotates them, a new refresh token). */
  refresh(refreshToken: string, signal?: AbortSignal): Promise<TokenGrant> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken }, [refreshToken], 'refreshing the OAuth access token', signal);
  }

  /** Revokes a token (RFC 7009); revoking the refresh token ends the app's access (an uninstall). */
  async revoke(token: string, hint: 'refresh_token' | 'access_token', signal?: AbortSignal): Promise<void> {
    const what = `revoking the OAuth ${hint === 'refresh_token' ? 'refresh' : 'access'} token`;
    const { status, text } = await this.post('/oauth/revoke', { token, token_type_hint: hint }, what, signal);
    if (status >= 200 && status < 300) return;
    throw this.failure(status, text, [token], what);
  }

  private async token(form: Record<string, string>, sent: string[], what: string, signal?: AbortSignal): Promise<TokenGrant> {
    const { status, text } = await this.post('/oauth/token', form, what, signal);
    if (status < 200 || status >= 300) throw this.failure(status, text, sent, what);
    return parseTokenGrant(text, `${what}: POST ${redactUrl(`${this.base}/oauth/token`)}`);
  }

  private async post(path: string, form: Record<string, string>, what: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    const basic = Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString('base64');
    const timeout = this.opts.timeoutMs ?? 30_000;
    try {
      const res = await request(`${this.base}${path}`, {
        method: 'POST',
        dispatcher: this.opts.dispatcher,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new PipedriveError(`${what}: POST ${redactUrl(`${this.base}${path}`)}: no answer from Pipedrive's OAuth server (${redactUrlsIn(describeError(err))})`, true);
    }
  }

  /** A refusal, classified: the grant (re-authorize), the client (fix the settings), or transient (retry). */
  private failure(status: number, text: string, sent: string[], what: string): PipedriveError {
    const where = `${what}: POST ${redactUrl(`${this.base}/oauth/${what.startsWith('revoking') ? 'revoke' : 'token'}`)}`;
    const { code, message } = errorOf(text, [...sent, this.opts.clientSecret]);
    const said = [code, message].filter(Boolean).join(': ') || `HTTP ${status}`;
    if (status === 429 || status >= 500) return new PipedriveError(`${where}: HTTP ${status} (${said}); retrying`, true);
    if (code === 'invalid_client' || status === 401) return new PipedriveAuthError(`${where}: the OAuth server refused the app's credentials (${said}); ${CLIENT_REMEDY}`);
    if (code === 'invalid_grant') return new OAuthGrantError(`${where}: ${said}`);
    return new PipedriveAuthError(`${where}: HTTP ${status} (${said})`);
  }
}

/** The authorize page's URL: public values only (client id, redirect URI, the one-time state). */
export function authorizeUrlOf(oauthUrl: string, clientId: string, redirectUri: string, state: string): string {
  const q = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, state });
  return `${oauthUrl.replace(/\/+$/, '')}/oauth/authorize?${q.toString()}`;
}

/**
 * The grant is gone: a code used or expired, a refresh token revoked, unused for 60 days, or replaced by
 * a newer one. Only a new authorization helps; callers add the command to run.
 */
export class OAuthGrantError extends PipedriveAuthError {
  override name = 'OAuthGrantError';
}

/**
 * Pipedrive's error bodies (`{success: false, message, error}`; RFC 6749's `{error, error_description}`
 * elsewhere), reduced to a code and a short message. `secrets` are replaced wherever they appear.
 */
function errorOf(text: string, secrets: readonly string[]): { code: string | undefined; message: string | undefined } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: undefined, message: /^\s*</.test(text) ? 'an HTML page' : undefined };
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? scrub(v.slice(0, 200), secrets) : undefined);
  return { code: str(b.error), message: str(b.message) ?? str(b.error_description) };
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return redactUrlsIn(out);
}

/** A 2xx token answer → TokenGrant, or an error naming the field that is wrong (never its value). */
export function parseTokenGrant(text: string, where: string): TokenGrant {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PipedriveError(`${where}: the answer is not JSON`, true);
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const bad = (field: string, want: string) => new PipedriveAuthError(`${where}: the answer's "${field}" is not ${want}`);
  if (typeof b.access_token !== 'string' || b.access_token === '') throw bad('access_token', 'a token');
  if (typeof b.token_type === 'string' && b.token_type.toLowerCase() !== 'bearer') throw bad('token_type', '"Bearer"');
  if (b.refresh_token !== undefined && (typeof b.refresh_token !== 'string' || b.refresh_token === '')) throw bad('refresh_token', 'a token');
  const expires = Number(b.expires_in);
  if (!Number.isFinite(expires) || expires <= 0) throw bad('expires_in', 'a positive number of seconds');
  if (b.api_domain !== undefined && (typeof b.api_domain !== 'string' || !/^https?:\/\/[^/]/.test(b.api_domain))) throw bad('api_domain', 'an http(s) URL');
  if (b.scope !== undefined && typeof b.scope !== 'string') throw bad('scope', 'a string');
  return {
    accessToken: b.access_token,
    refreshToken: b.refresh_token as string | undefined,
    scope: b.scope as string | undefined,
    expiresInS: expires,
    apiDomain: b.api_domain === undefined ? undefined : (b.api_domain as string).replace(/\/+$/, ''),
  };
}
