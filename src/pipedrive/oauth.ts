/**
 * OAuth 2.0 as the producer uses it: the access token from the token file, sent as
 * `Authorization: Bearer`, against the company's `api_domain`; refreshed shortly before it expires and
 * once after a 401 (clocks differ, tokens get replaced early). A refresh is one request at a time for
 * the whole process; its result is stored durably before it is used, because with rotation the old
 * refresh token stops working the moment the new one is issued. A refused refresh token is final: the
 * error says to run `pipedrive-cdc auth`, and no request is made with it again.
 */
import type { Logger } from '../observe/log.ts';
import { redactUrl } from '../redact.ts';
import type { PipedriveAuth, RequestCredentials } from './auth.ts';
import { PipedriveAuthError } from './errors.ts';
import { OAuthGrantError, type OAuthServer, type TokenGrant } from './oauth-server.ts';
import { REAUTHORIZE, TOKEN_FILE_SETTING, type StoredTokens, type TokenStorage } from './token-store.ts';
import { InsecureTransportError, insecureReason } from './transport.ts';

export interface OAuthAuthOptions {
  readonly server: OAuthServer;
  readonly store: TokenStorage;
  /** PIPEDRIVE_OAUTH_CLIENT_ID: a token file of another app is refused. */
  readonly clientId: string;
  /** PIPEDRIVE_ALLOW_INSECURE_HTTP: whether an http:// api_domain off this machine may get the token. */
  readonly allowInsecureHttp: boolean;
  readonly log?: Logger;
  /** This machine's clock (tests move it). */
  readonly now?: () => number;
}

/** Refresh this long before expiry at most (half the lifetime for short-lived tokens). */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;

export class OAuthAuth implements PipedriveAuth {
  readonly unauthorizedRemedy: string;
  private tokens: StoredTokens;
  private generation = 0;
  /** A 401 said the current access token is no good, whatever its expiry says. */
  private stale = false;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;

  /** Reads the token file at once, so a missing or foreign one stops the producer before it connects to anything. */
  constructor(private readonly opts: OAuthAuthOptions) {
    this.now = opts.now ?? Date.now;
    this.unauthorizedRemedy = `Pipedrive refused a just-refreshed OAuth access token (the app's access was revoked or the app uninstalled); ${opts.store.reauthorize ?? REAUTHORIZE}`;
    this.tokens = this.load();
    // Which company and file this run uses: the config summary cannot say, the file holds the api_domain.
    opts.log?.('oauth-tokens-loaded', { file: opts.store.path, apiDomain: redactUrl(this.tokens.apiDomain), accessTokenExpiresAt: new Date(this.tokens.expiresAtMs).toISOString() });
    if (opts.store.readableByOthers()) opts.log?.('oauth-token-file-insecure', { file: opts.store.path, fix: `chmod 600 ${opts.store.path}` });
  }

  async credentials(signal?: AbortSignal): Promise<RequestCredentials> {
    if (this.stale || this.expiring(this.tokens)) await this.refresh(this.stale ? 'unauthorized' : 'expiring', signal);
    return { baseUrl: this.tokens.apiDomain, headers: { authorization: `Bearer ${this.tokens.accessToken}` }, generation: this.generation };
  }

  async unauthorized(generation: number): Promise<boolean> {
    // Replaced since that request left: the repeat uses the new token. Otherwise the next credentials() refresh.
    if (generation === this.generation) this.stale = true;
    return true;
  }

  /** One refresh for every caller waiting at the same time. */
  private refresh(reason: 'expiring' | 'unauthorized', signal?: AbortSignal): Promise<void> {
    this.refreshing ??= this.refreshNow(reason, signal).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshNow(reason: 'expiring' | 'unauthorized', signal?: AbortSignal): Promise<void> {
    // Newer tokens on disk (`pipedrive-cdc auth` ran again, another process refreshed) are used as they are.
    const onDisk = this.load();
    if (onDisk.refreshToken !== this.tokens.refreshToken && !this.expiring(onDisk)) {
      this.adopt(onDisk, 'reloaded', reason);
      return;
    }
    const base = onDisk;
    const asked = this.now();
    let grant: TokenGrant;
    try {
      grant = await this.opts.server.refresh(base.refreshToken, signal);
    } catch (err) {
      if (!(err instanceof OAuthGrantError)) throw err;
      // Re-authorized while this refresh was under way: use that, not an error.
      const again = this.opts.store.read();
      if (again && again.refreshToken !== base.refreshToken) {
        this.adopt(this.checked(again), 'reloaded', reason);
        return;
      }
      throw new OAuthGrantError(
        `${err.message} — the refresh token was revoked (the app uninstalled or its access removed), went unused for 60 days, or was replaced; ${this.opts.store.reauthorize ?? REAUTHORIZE} (tokens in ${this.opts.store.path})`,
        { cause: err },
      );
    }
    const next = this.checked({
      clientId: this.opts.clientId,
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken ?? base.refreshToken,
      obtainedAtMs: asked,
      expiresAtMs: asked + grant.expiresInS * 1000,
      apiDomain: grant.apiDomain ?? base.apiDomain,
      scope: grant.scope ?? base.scope,
    });
    // Durable before use: the next request, or a crash right after it, must find this refresh token on disk.
    await this.opts.store.write(next);
    this.adopt(next, 'refreshed', reason, { expiresInS: grant.expiresInS, refreshTokenRotated: next.refreshToken !== base.refreshToken });
  }

  private adopt(tokens: StoredTokens, how: 'refreshed' | 'reloaded', reason: string, extra: Record<string, unknown> = {}): void {
    this.tokens = tokens;
    this.generation++;
    this.stale = false;
    this.opts.log?.(how === 'refreshed' ? 'oauth-token-refreshed' : 'oauth-tokens-reloaded', { reason, file: this.opts.store.path, ...extra });
  }

  private expiring(t: StoredTokens): boolean {
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, (t.expiresAtMs - t.obtainedAtMs) / 2));
    return this.now() >= t.expiresAtMs - margin;
  }

  private load(): StoredTokens {
    const t = this.opts.store.read();
    if (!t) {
      throw new PipedriveAuthError(`${TOKEN_FILE_SETTING} ${this.opts.store.path}: no OAuth tokens there yet; run \`pipedrive-cdc auth\` first (or set ${TOKEN_FILE_SETTING} to where it stored them)`);
    }
    return this.checked(t);
  }

  /** Tokens of this app, for an api_domain that may receive them. */
  private checked(t: StoredTokens): StoredTokens {
    if (t.clientId !== this.opts.clientId) {
      throw new PipedriveAuthError(
        `${TOKEN_FILE_SETTING} ${this.opts.store.path}: the tokens belong to another OAuth app (client id ${t.clientId}, PIPEDRIVE_OAUTH_CLIENT_ID is ${this.opts.clientId}); ${REAUTHORIZE}`,
      );
    }
    const insecure = insecureReason(t.apiDomain, 'the OAuth api_domain', this.opts.allowInsecureHttp);
    if (insecure) throw new InsecureTransportError(insecure);
    return t;
  }
}

/** The stored form of a first grant (the `auth` command). */
export function storedFromGrant(grant: TokenGrant, clientId: string, obtainedAtMs: number, fallbackApiDomain: string): StoredTokens {
  if (!grant.refreshToken) throw new PipedriveAuthError('the OAuth server issued no refresh_token; the producer could not renew the access token after it expires');
  return {
    clientId,
    accessToken: grant.accessToken,
    refreshToken: grant.refreshToken,
    obtainedAtMs,
    expiresAtMs: obtainedAtMs + grant.expiresInS * 1000,
    apiDomain: grant.apiDomain ?? fallbackApiDomain,
    scope: grant.scope,
  };
}
