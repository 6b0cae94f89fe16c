/**
 * Query parameters shared by the v2 list routes: limit, sort_by/sort_direction, cursor (for any sort
 * key, in the real API's base64url JSON format), updated_since/updated_until, id lists and booleans.
 */
import type { Request } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { decodeCursor, encodeCursor, parseLimit } from '../../http/pagination.ts';
import { enumQuery, queryValue, timeQuery, toPositiveInt } from '../../http/params.ts';
import type { KeyPosition, KeyValue } from '../../store/scan.ts';
import type { SortDirection, SortField } from '../../store/table.ts';

const TABLE_SORTS: readonly string[] = ['id', 'update_time', 'add_time'];
const DIRECTIONS: readonly SortDirection[] = ['asc', 'desc'];

export interface ListParams {
  sortBy: string;
  direction: SortDirection;
  limit: number;
  from: KeyPosition | undefined;
  sinceMs: number | undefined;
  untilMs: number | undefined;
}

/** `timeFilters`: the operation has updated_since/updated_until (pipelines and stages do not). */
export function parseListParams(req: Request, sortFields: readonly string[], timeFilters: boolean): ListParams {
  const sortBy = enumQuery(req, 'sort_by', sortFields, 'id');
  const direction = enumQuery(req, 'sort_direction', DIRECTIONS, 'asc');
  const limit = parseLimit(req);
  const cursor = queryValue(req, 'cursor');
  return {
    sortBy,
    direction,
    limit,
    from: cursor === undefined ? undefined : decodeAnyCursor(cursor, sortBy, direction),
    sinceMs: timeFilters ? timeQuery(req, 'updated_since') : undefined,
    untilMs: timeFilters ? timeQuery(req, 'updated_until') : undefined,
  };
}

export function nextCursor(p: Pick<ListParams, 'sortBy' | 'direction'>, next: KeyPosition | null): string | null {
  if (next === null) return null;
  if (TABLE_SORTS.includes(p.sortBy) && typeof next.value === 'number') {
    return encodeCursor(p.sortBy as SortField, p.direction, { value: next.value, id: next.id });
  }
  const json = { field: p.sortBy, fieldValue: next.value, sortDirection: p.direction, id: next.id };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

function decodeAnyCursor(raw: string, sortBy: string, direction: SortDirection): KeyPosition {
  if (TABLE_SORTS.includes(sortBy)) return decodeCursor(raw, sortBy as SortField, direction);
  const invalid = badRequest('Validation failed: cursor: Invalid cursor');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid;
  }
  if (json === null || typeof json !== 'object' || !Number.isSafeInteger(json['id'])) throw invalid;
  if (json['field'] !== sortBy || json['sortDirection'] !== direction) {
    throw badRequest('Validation failed: cursor: Cursor does not match sort_by/sort_direction');
  }
  const value = json['fieldValue'];
  if (value !== null && typeof value !== 'string' && typeof value !== 'number') throw invalid;
  return { value: value as KeyValue, id: json['id'] as number };
}

/**
 * Ids given as `ids=1,2` or repeated `deal_ids=1&deal_ids=2` (the spec's array style); at most `max`.
 */
export function idListQuery(req: Request, name: string, max = 100): Set<number> | undefined {
  const raw: unknown = (req.query as Record<string, unknown>)[name];
  if (raw === undefined) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => (typeof v === 'string' ? v.split(',') : [String(v)]));
  const ids = parts.map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length > max) throw badRequest(`Validation failed: ${name}: At most ${max} ids are allowed`);
  return new Set(ids.map((v) => toPositiveInt(v, name)));
}

export function boolQuery(req: Request, name: string): boolean | undefined {
  const v = queryValue(req, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw badRequest(`Validation failed: ${name}: Expected true or false`);
  return v === 'true' || v === '1';
}
