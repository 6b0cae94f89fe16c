/**
 * The local Pipedrive's OAuth 2.0 server state: registered apps (clients), authorization codes, grants
 * and their tokens, all timed by the simulator's clock. Behaviour follows Pipedrive's documentation:
 * codes live 5 minutes and work once; access tokens live `expires_in` seconds (3600); a refresh token
 * expires when unused for 60 days; refreshing rotates the refresh token (the old one is then "already
 * exchanged", Pipedrive's status-code table) unless `rotateRefreshTokens: false`; revoking a refresh
 * token ends the grant, its access tokens included (RFC 7009 §2.1, an app uninstall). Scopes are
 * reported, not enforced. Tokens are random and never logged.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimClock } from '../clock.ts';
import { Rng } from '../prng.ts';
import type { TokenUser } from '../http/tokens.ts';

export interface SimOAuthClient {
  clientId: string;
  clientSecret: string;
  /** Callback URLs the app registered; unset: any http(s) URL on this machine (a sandbox convenience). */
  redirectUris?: string[];
}

export interface SimOAuthOptions {
  /** Registered apps; default one sandbox app derived from the simulator's seed. */
  clients?: SimOAuthClient[];
  /** Lifetime of an access token in seconds (Pipedrive: 3599–3600). */
  accessTokenTtlS?: number;
  /** A refresh token unused this long (seconds) expires; Pipedrive: 60 days. */
  refreshTokenIdleS?: number;
  /** Each refresh issues a new refresh token and retires the old one (default true). */
  rotateRefreshTokens?: boolean;
  /** GET /oauth/authorize redirects with a code at once instead of showing the consent page. */
  autoApprove?: boolean;
  /** The `api_domain` of token answers; default the simulator's own base URL. */
  apiDomain?: string;
  /** The `scope` of token answers (Pipedrive: the app's scopes, comma-separated). */
  scope?: string;
}

export interface SimOAuthStats {
  codesIssued: number;
  grants: number;
  accessTokensIssued: number;
  refreshes: number;
  revocations: number;
  /** Refused token requests by error code (invalid_grant, invalid_client, ...). */
  tokenErrors: Record<string, number>;
  /** API requests refused for their bearer token. */
  rejectedBearer: { expired: number; invalid: number };
  liveAccessTokens: number;
}

/** A token answer in Pipedrive's shape (GetTokensResponse of the v1 spec). */
export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  refresh_token: string;
  scope: string;
  expires_in: number;
  api_domain: string;
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'unauthorized_client';

/** A refusal the routes turn into `{success: false, message, error}` with this status. */
export class OAuthRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: OAuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Grant {
  clientId: string;
  user: TokenUser;
  revoked: boolean;
}
interface Code {
  clientId: string;
  redirectUri: string;
  expiresAtMs: number;
}
interface AccessToken {
  grant: Grant;
  expiresAtMs: number;
  revoked: boolean;
}
interface RefreshToken {
  grant: Grant;
  lastUsedMs: number;
  retired: boolean;
}

const CODE_TTL_MS = 5 * 60_000;
const DEFAULT_SCOPE = 'base,deals:read,activities:read,contacts:read,products:read,users:read,recents:read,leads:read,mail:read,admin';

export class SimOAuth {
  private readonly clients = new Map<string, SimOAuthClient>();
  private readonly codes = new Map<string, Code>();
  private readonly access = new Map<string, AccessToken>();
  private readonly refresh = new Map<string, RefreshToken>();
  private grantCount = 0;
  private readonly counts = { codesIssued: 0, accessTokensIssued: 0, refreshes: 0, revocations: 0, expired: 0, invalid: 0 };
  private readonly tokenErrors = new Map<string, number>();
  private cfg: Required<Omit<SimOAuthOptions, 'clients' | 'apiDomain'>> & { apiDomain: string | undefined };

  constructor(
    private readonly clock: SimClock,
    /** Who grants access on the consent page: the company's admin (the API token's user). */
    private readonly user: TokenUser,
    opts: SimOAuthOptions = {},
    seed?: number,
  ) {
    for (const c of opts.clients ?? [sandboxClient(seed)]) {
      if (!c.clientId || !c.clientSecret) throw new Error('startSimulator: oauth clients need a clientId and a clientSecret');
      this.clients.set(c.clientId, c);
    }
    this.cfg = { accessTokenTtlS: 3600, refreshTokenIdleS: 60 * 24 * 3600, rotateRefreshTokens: true, autoApprove: false, scope: DEFAULT_SCOPE, apiDomain: opts.apiDomain };
    this.configure(opts);
  }

  /** Changes lifetimes and behaviour at run time (tests, /_sim/oauth). */
  configure(o: Omit<SimOAuthOptions, 'clients'>): void {
    for (const k of ['accessTokenTtlS', 'refreshTokenIdleS'] as const) {
      const v = o[k];
      if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new RangeError(`${k} must be a positive whole number of seconds`);
    }
    this.cfg = { ...this.cfg, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  }

  get config(): Readonly<typeof this.cfg> {
    return this.cfg;
  }

  /** The registered apps (the sandbox one first). */
  get registered(): readonly SimOAuthClient[] {
    return [...this.clients.values()];
  }

  client(clientId: string): SimOAuthClient | undefined {
    return this.clients.get(clientId);
  }

  /** Authenticates an app by id and secret (basic auth or form fields). */
  authenticate(clientId: string | undefined, clientSecret: string | undefined): SimOAuthClient {
    if (!clientId || clientSecret === undefined) throw this.refused(400, 'invalid_client', 'Invalid client: cannot retrieve client credentials');
    const c = this.clients.get(clientId);
    if (!c || !sameSecret(c.clientSecret, clientSecret)) throw this.refused(401, 'invalid_client', 'Invalid client: client is invalid');
    return c;
  }

  redirectAllowed(c: SimOAuthClient, redirectUri: string): boolean {
    if (c.redirectUris) return c.redirectUris.includes(redirectUri);
    try {
      const u = new URL(redirectUri);
      return (u.protocol === 'http:' || u.protocol === 'https:') && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    } catch {
      return false;
    }
  }

  /** The user approved: a code for this app and callback, valid 5 minutes, once. */
  issueCode(clientId: string, redirectUri: string): string {
    const code = randomBytes(20).toString('hex');
    this.codes.set(code, { clientId, redirectUri, expiresAtMs: this.clock.nowMs() + CODE_TTL_MS });
    this.counts.codesIssued++;
    return code;
  }

  exchangeCode(c: SimOAuthClient, code: string | undefined, redirectUri: string | undefined, apiDomain: string): TokenAnswer {
    if (!code) throw this.refused(400, 'invalid_request', 'Missing parameter: code');
    const found = this.codes.get(code);
    if (!found || found.clientId !== c.clientId) throw this.refused(400, 'invalid_grant', 'Invalid grant: authorization_code is invalid');
    this.codes.delete(code); // once, even when the rest of the request is wrong
    if (this.clock.nowMs() > found.expiresAtMs) throw this.refused(400, 'invalid_grant', 'Invalid grant: authorization_code has expired');
    if (redirectUri !== found.redirectUri) throw this.refused(400, 'invalid_request', 'Invalid request: redirect_uri is invalid');
    const grant: Grant = { clientId: c.clientId, user: this.user, revoked: false };
    this.grantCount++;
    return this.answer(grant, this.newRefresh(grant), apiDomain);
  }

  refreshGrant(c: SimOAuthClient, token: string | undefined, apiDomain: string): TokenAnswer {
    if (!token) throw this.refused(400, 'invalid_request', 'Missing parameter: refresh_token');
    const r = this.refresh.get(token);
    if (!r || r.retired || r.grant.revoked || r.grant.clientId !== c.clientId) throw this.refused(400, 'invalid_grant', 'Invalid grant: refresh_token is invalid');
    const now = this.clock.nowMs();
    if (now - r.lastUsedMs > this.cfg.refreshTokenIdleS * 1000) throw this.refused(400, 'invalid_grant', 'Invalid grant: refresh_token has expired');
    this.counts.refreshes++;
    let next = token;
    if (this.cfg.rotateRefreshTokens) {
      r.retired = true;
      next = this.newRefresh(r.grant);
    } else {
      r.lastUsedMs = now;
    }
    return this.answer(r.grant, next, apiDomain);
  }

  /** RFC 7009: a refresh token ends its grant; an access token only itself; unknown tokens are no error. */
  revoke(c: SimOAuthClient, token: string | undefined): void {
    if (!token) throw this.refused(400, 'invalid_request', 'Missing parameter: token');
    const r = this.refresh.get(token);
    const a = this.access.get(token);
    const grant = r?.grant ?? a?.grant;
    if (grant && grant.clientId !== c.clientId) throw this.refused(400, 'unauthorized_client', 'Unauthorized client: the token was issued to another client');
    if (r) r.grant.revoked = true;
    if (a) a.revoked = true;
    if (grant) this.counts.revocations++;
  }

  /** Every grant ends (the user removed the app's access in Pipedrive's settings). */
  revokeAll(): void {
    for (const r of this.refresh.values()) r.grant.revoked = true;
    this.counts.revocations++;
  }

  /** The API's check of `Authorization: Bearer`: the token's user, or why it is refused. */
  bearer(token: string): TokenUser | 'expired' | 'invalid' {
    const a = this.access.get(token);
    if (!a || a.revoked || a.grant.revoked) {
      this.counts.invalid++;
      return 'invalid';
    }
    if (this.clock.nowMs() >= a.expiresAtMs) {
      this.counts.expired++;
      return 'expired';
    }
    return a.grant.user;
  }

  /** A grant without the browser (tests and demos that are not about the authorize step). */
  grantDirectly(clientId: string, apiDomain: string): TokenAnswer {
    const c = this.clients.get(clientId);
    if (!c) throw new Error(`grantDirectly: no client ${clientId}`);
    const grant: Grant = { clientId, user: this.user, revoked: false };
    this.grantCount++;
    return this.answer(grant, this.newRefresh(grant), apiDomain);
  }

  stats(): SimOAuthStats {
    const now = this.clock.nowMs();
    let live = 0;
    for (const a of this.access.values()) if (!a.revoked && !a.grant.revoked && now < a.expiresAtMs) live++;
    return {
      codesIssued: this.counts.codesIssued,
      grants: this.grantCount,
      accessTokensIssued: this.counts.accessTokensIssued,
      refreshes: this.counts.refreshes,
      revocations: this.counts.revocations,
      tokenErrors: Object.fromEntries(this.tokenErrors),
      rejectedBearer: { expired: this.counts.expired, invalid: this.counts.invalid },
      liveAccessTokens: live,
    };
  }

  /** Every secret this server knows or issued (client secrets, codes, tokens): for tests that check none leaks. */
  secrets(): string[] {
    return [...[...this.clients.values()].map((c) => c.clientSecret), ...this.codes.keys(), ...this.access.keys(), ...this.refresh.keys()];
  }

  /** Counts the refusal and returns it, for `throw`. */
  refused(status: number, code: OAuthErrorCode, message: string): OAuthRefusal {
    this.tokenErrors.set(code, (this.tokenErrors.get(code) ?? 0) + 1);
    return new OAuthRefusal(status, code, message);
  }

  private newRefresh(grant: Grant): string {
    // Pipedrive's shape: <user id>:<company id>:<40 hex>.
    const token = `${grant.user.userId}:1:${randomBytes(20).toString('hex')}`;
    this.refresh.set(token, { grant, lastUsedMs: this.clock.nowMs(), retired: false });
    return token;
  }

  private answer(grant: Grant, refreshToken: string, apiDomain: string): TokenAnswer {
    const accessToken = `v1u:${randomBytes(48).toString('base64url')}`;
    this.access.set(accessToken, { grant, expiresAtMs: this.clock.nowMs() + this.cfg.accessTokenTtlS * 1000, revoked: false });
    this.counts.accessTokensIssued++;
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      refresh_token: refreshToken,
      scope: this.cfg.scope,
      expires_in: this.cfg.accessTokenTtlS,
      api_domain: this.cfg.apiDomain ?? apiDomain,
    };
  }
}

/** The sandbox app: from the seed when given (stable across runs, like the API token), else random. */
export function sandboxClient(seed?: number): SimOAuthClient {
  if (seed === undefined) return { clientId: randomBytes(10).toString('hex'), clientSecret: randomBytes(20).toString('hex') };
  const rng = new Rng((seed ^ 0x0a7c1e47) >>> 0);
  return { clientId: rng.hex(20), clientSecret: rng.hex(40) };
}

/** Constant-time comparison of secrets. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
