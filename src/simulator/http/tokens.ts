/**
 * API tokens of the simulated company's users. Pipedrive tokens are per user: what a token may see
 * depends on its user (e.g. a non-admin sees only its own mail). The simulator's primary token
 * belongs to the account's admin (ACCOUNT.tokenUserId); `startSimulator({ tokens })` adds more.
 * The token is never logged or echoed; handlers read the caller from `tokenUserOf(res)`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ACCOUNT } from '../store/account.ts';
import { UNAUTHORIZED_BODY } from './envelope.ts';

export interface SimToken {
  token: string;
  /** The user the token belongs to. */
  userId: number;
  /** Company admin: sees every user's private data. */
  admin: boolean;
}

export type TokenUser = Omit<SimToken, 'token'>;

/** Accepts `x-api-token` or `api_token` matching any of the tokens; sets res.locals.tokenUser. */
export function requireAnyToken(tokens: readonly SimToken[]): RequestHandler {
  const known = tokens.map((t) => ({ buf: Buffer.from(t.token), user: { userId: t.userId, admin: t.admin } }));
  const find = (given: unknown): TokenUser | undefined => {
    if (typeof given !== 'string' || given === '') return undefined;
    const buf = Buffer.from(given);
    return known.find((k) => k.buf.length === buf.length && timingSafeEqual(k.buf, buf))?.user;
  };
  return (req, res, next) => {
    const user = find(req.get('x-api-token')) ?? find((req.query as Record<string, unknown>)['api_token']);
    if (!user) {
      res.status(401).json(UNAUTHORIZED_BODY);
      return;
    }
    res.locals['tokenUser'] = user;
    next();
  };
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
