/**
 * API tokens of the simulated company's users. Pipedrive tokens are per user: what a token may see
 * depends on its user (e.g. a non-admin sees only its own mail). The simulator's primary token
 * belongs to the account's admin (ACCOUNT.tokenUserId); `startSimulator({ tokens })` adds more.
 * The token is never logged or echoed; handlers read the caller from `tokenUserOf(res)`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { SimOAuth } from '../oauth/state.ts';
import { ACCOUNT } from '../store/account.ts';
import { ERROR_INFO, UNAUTHORIZED_BODY } from './envelope.ts';

export interface SimToken {
  token: string;
  /** The user the token belongs to. */
  userId: number;
  /** Company admin: sees every user's private data. */
  admin: boolean;
}

export type TokenUser = Omit<SimToken, 'token'>;

/**
 * Accepts `x-api-token` or `api_token` matching any of the tokens, or `Authorization: Bearer` with a live
 * OAuth access token; sets res.locals.tokenUser. A refused bearer token gets Pipedrive's OAuth 401
 * ("Invalid token: access token has expired" / "… is invalid"), a malformed Authorization header a 400.
 */
export function requireAnyToken(tokens: readonly SimToken[], oauth?: SimOAuth): RequestHandler {
  const known = tokens.map((t) => ({ buf: Buffer.from(t.token), user: { userId: t.userId, admin: t.admin } }));
  const find = (given: unknown): TokenUser | undefined => {
    if (typeof given !== 'string' || given === '') return undefined;
    const buf = Buffer.from(given);
    return known.find((k) => k.buf.length === buf.length && timingSafeEqual(k.buf, buf))?.user;
  };
  return (req, res, next) => {
    let user = find(req.get('x-api-token')) ?? find((req.query as Record<string, unknown>)['api_token']);
    const authorization = req.get('authorization');
    if (!user && authorization !== undefined && oauth) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) {
        res.status(400).json(oauthError('Invalid request: malformed authorization header', 400));
        return;
      }
      const found = oauth.bearer(m[1]!);
      if (typeof found === 'string') {
        res.status(401).json(oauthError(`Invalid token: access token ${found === 'expired' ? 'has expired' : 'is invalid'}`, 401));
        return;
      }
      user = found;
    }
    if (!user) {
      res.status(401).json(UNAUTHORIZED_BODY);
      return;
    }
    res.locals['tokenUser'] = user;
    next();
  };
}

/** The API's answer to a refused OAuth request: the API-token 401's envelope with the OAuth server's message. */
function oauthError(error: string, status: number): Record<string, unknown> {
  return { success: false, error, errorCode: status, error_info: ERROR_INFO };
}

export function tokenUserOf(res: Response): TokenUser {
  const u = res.locals['tokenUser'] as TokenUser | undefined;
  if (!u) throw new Error('tokenUserOf: no authenticated user (route mounted without requireAnyToken)');
  return u;
}

/** The company's tokens: the primary one (the admin account user) first, then `extra`. */
export function companyTokens(primary: string, extra: readonly SimToken[] = []): SimToken[] {
  for (const t of extra) if (t.token === '' || t.token === primary) throw new Error('startSimulator: tokens must be non-empty and distinct');
  return [{ token: primary, userId: ACCOUNT.tokenUserId, admin: true }, ...extra];
}
