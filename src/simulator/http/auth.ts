/**
 * API-token auth: the `x-api-token` header (current docs) or the `api_token` query parameter (v1
 * compatibility, still what several clients send). The token is never logged or echoed.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UNAUTHORIZED_BODY } from './envelope.ts';

export function requireToken(token: string): RequestHandler {
  const expected = Buffer.from(token);
  const matches = (given: unknown): boolean => {
    if (typeof given !== 'string') return false;
    const buf = Buffer.from(given);
    return buf.length === expected.length && timingSafeEqual(buf, expected);
  };
  return (req, res, next) => {
    const query = req.query as Record<string, unknown>;
    if (matches(req.get('x-api-token')) || matches(query['api_token'])) {
      next();
      return;
    }
    res.status(401).json(UNAUTHORIZED_BODY);
  };
}
