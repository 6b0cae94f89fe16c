/** Query/path parameter parsing; every failure is a 400 naming the parameter. */
import type { Request } from 'express';
import { parseRfc3339 } from '../time.ts';
import { badRequest } from './envelope.ts';

/** A single query value; a repeated parameter is a client error rather than a silent pick. */
export function queryValue(req: Request, name: string): string | undefined {
  const v: unknown = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`Validation failed: ${name}: must be given once`);
  return v;
}

export function intQuery(req: Request, name: string): number | undefined {
  const v = queryValue(req, name);
  return v === undefined ? undefined : toPositiveInt(v, name);
}

export function toPositiveInt(v: string, name: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    throw badRequest(`Validation failed: ${name}: Expected a positive integer`);
  }
  return Number(v);
}

export function enumQuery<T extends string>(req: Request, name: string, allowed: readonly T[], dflt: T): T {
  const v = queryValue(req, name);
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw badRequest(`Validation failed: ${name}: Must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

/** Comma-separated list; empty items are dropped. */
export function csvQuery(req: Request, name: string): string[] | undefined {
  const v = queryValue(req, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** RFC 3339 timestamp → epoch ms. */
export function timeQuery(req: Request, name: string): number | undefined {
  const v = queryValue(req, name);
  if (v === undefined) return undefined;
  const ms = parseRfc3339(v);
  if (ms === null) throw badRequest(`Validation failed: ${name}: Expected RFC 3339 date-time, e.g. 2025-01-01T10:20:00Z`);
  return ms;
}

export function pathId(req: Request): number {
  return toPositiveInt(String(req.params['id']), 'id');
}
