/**
 * v2 cursor pagination. Like the real API, the cursor is base64url JSON naming the FIRST item of the
 * next page: {field, fieldValue, sortDirection, id}. It encodes a position in (sort value, id) order,
 * not an offset, so pages stay stable across ties and across rows changing between requests.
 */
import type { Request } from 'express';
import type { Position, SortDirection, SortField } from '../store/table.ts';
import { formatV2, parseRfc3339 } from '../time.ts';
import { badRequest } from './envelope.ts';
import { queryValue } from './params.ts';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

export function parseLimit(req: Request): number {
  const v = queryValue(req, 'limit');
  if (v === undefined) return DEFAULT_LIMIT;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw badRequest('Validation failed: limit: Must be a positive integer');
  if (Number(v) > MAX_LIMIT) throw badRequest(`Validation failed: limit: Must be less than or equal to ${MAX_LIMIT}`);
  return Number(v);
}

interface CursorJson {
  field: SortField;
  fieldValue: number | string;
  sortDirection: SortDirection;
  id: number;
}

export function encodeCursor(field: SortField, direction: SortDirection, pos: Position): string {
  const json: CursorJson = {
    field,
    fieldValue: field === 'id' ? pos.value : formatV2(pos.value),
    sortDirection: direction,
    id: pos.id,
  };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** Decode and check the cursor belongs to this sort; anything else is a 400, never a wrong page. */
export function decodeCursor(raw: string, field: SortField, direction: SortDirection): Position {
  const invalid = badRequest('Validation failed: cursor: Invalid cursor');
  let json: Partial<CursorJson>;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<CursorJson>;
  } catch {
    throw invalid;
  }
  if (json === null || typeof json !== 'object' || !Number.isSafeInteger(json.id)) throw invalid;
  if (json.field !== field || json.sortDirection !== direction) {
    throw badRequest('Validation failed: cursor: Cursor does not match sort_by/sort_direction');
  }
  let value: number | null;
  if (field === 'id') value = typeof json.fieldValue === 'number' ? json.fieldValue : null;
  else {
    const ms = typeof json.fieldValue === 'string' ? parseRfc3339(json.fieldValue) : null;
    value = ms === null ? null : Math.floor(ms / 1000);
  }
  if (value === null) throw invalid;
  return { value, id: json.id as number };
}
