/**
 * What v1 routes share: offset paging (`start`/`limit` → additional_data.pagination), v1 time
 * formats, the caller, and v1 error bodies.
 */
import type { Request, Response } from 'express';
import { ApiError, badRequest, errorBody } from '../../http/envelope.ts';
import { queryValue } from '../../http/params.ts';
import { tokenUserOf, type TokenUser } from '../../http/tokens.ts';

export const V1_DEFAULT_LIMIT = 100;
/** Not documented; third-party docs and clients use 500 as the v1 maximum. */
export const V1_MAX_LIMIT = 500;

export interface OffsetParams {
  start: number;
  limit: number;
}

/** `start` (default 0) and `limit` (default 100, at most `max`); bad values are 400s naming the parameter. */
export function offsetParams(req: Request, max = V1_MAX_LIMIT): OffsetParams {
  const start = queryValue(req, 'start');
  const limit = queryValue(req, 'limit');
  if (start !== undefined && !/^\d+$/.test(start)) throw badRequest('Validation failed: start: Must be a non-negative integer');
  if (limit !== undefined && (!/^\d+$/.test(limit) || Number(limit) < 1)) throw badRequest('Validation failed: limit: Must be a positive integer');
  if (limit !== undefined && Number(limit) > max) throw badRequest(`Validation failed: limit: Must be less than or equal to ${max}`);
  return { start: start === undefined ? 0 : Number(start), limit: limit === undefined ? V1_DEFAULT_LIMIT : Number(limit) };
}

/** additional_data.pagination as every v1 offset list sends it (next_start only while more remain). */
export function pagination(p: OffsetParams, returned: number, more: boolean): Record<string, unknown> {
  return { start: p.start, limit: p.limit, more_items_in_collection: more, ...(more ? { next_start: p.start + returned } : {}) };
}

export function sendPage(res: Response, data: unknown[], p: OffsetParams, more: boolean, extra: Record<string, unknown> = {}): void {
  res.json({ success: true, data, additional_data: { ...extra, pagination: pagination(p, data.length, more) } });
}

/** Slice an in-memory, already ordered list as one offset page. */
export function slicePage<T>(all: readonly T[], p: OffsetParams): { items: T[]; more: boolean } {
  return { items: all.slice(p.start, p.start + p.limit), more: all.length > p.start + p.limit };
}

/** Epoch seconds → `YYYY-MM-DD HH:MM:SS` (v1, UTC). */
export function formatV1(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatV1OrNull(sec: number | null): string | null {
  return sec === null ? null : formatV1(sec);
}

/** Epoch seconds → `YYYY-MM-DDTHH:MM:SS.000Z` (leads, lead labels and mail use ISO 8601 with ms). */
export function formatIso(sec: number): string {
  return new Date(sec * 1000).toISOString();
}

/** RFC 3339 / ISO 8601 (v2 responses, other stores) → v1 format; other values pass through. */
export function isoToV1(v: unknown): unknown {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v)) return v;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? v : formatV1(Math.floor(ms / 1000));
}

const V1_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Strict `YYYY-MM-DD HH:MM:SS` (UTC) → epoch seconds, or null. */
export function parseV1Time(s: string): number | null {
  if (!V1_TIME.test(s)) return null;
  const ms = Date.parse(`${s.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) || formatV1(ms / 1000) !== s ? null : ms / 1000;
}

export function caller(res: Response): TokenUser {
  return tokenUserOf(res);
}

/** A v1 404 with the entity named, e.g. "Note not found". */
export function notFound(what: string): ApiError {
  return new ApiError(404, `${what} not found`, errorBody(`${what} not found`, 'Object was not found.'));
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, message, errorBody(message, 'You do not have permissions to perform this action.'));
}

/** `sort=field ASC|DESC` (first key only; v1 accepts a comma-separated list). */
export function sortParam<F extends string>(req: Request, allowed: readonly F[], dflt: F): { field: F; direction: 'asc' | 'desc' } {
  const raw = queryValue(req, 'sort');
  if (raw === undefined || raw.trim() === '') return { field: dflt, direction: 'asc' };
  const [field, dir] = raw.split(',')[0]!.trim().split(/\s+/);
  if (!(allowed as readonly string[]).includes(field!)) throw badRequest(`Validation failed: sort: Supported fields are ${allowed.join(', ')}`);
  const d = (dir ?? 'ASC').toUpperCase();
  if (d !== 'ASC' && d !== 'DESC') throw badRequest('Validation failed: sort: Direction must be ASC or DESC');
  return { field: field as F, direction: d === 'ASC' ? 'asc' : 'desc' };
}

/** A 0/1 query flag (numberBoolean); undefined when absent. */
export function flagQuery(req: Request, name: string): boolean | undefined {
  const v = queryValue(req, name);
  if (v === undefined) return undefined;
  if (v !== '0' && v !== '1') throw badRequest(`Validation failed: ${name}: Must be 0 or 1`);
  return v === '1';
}

/** `true`/`false` (also 1/0) query boolean. */
export function boolQuery(req: Request, name: string): boolean | undefined {
  const v = queryValue(req, name);
  if (v === undefined) return undefined;
  if (['true', '1'].includes(v)) return true;
  if (['false', '0'].includes(v)) return false;
  throw badRequest(`Validation failed: ${name}: Must be a boolean`);
}

/** Path `:id` as a string (UUID/hex-keyed entities). */
export function pathKey(req: Request): string {
  return String(req.params['id']);
}
