/**
 * POST/PATCH /api/v2/deals body → validated DealChanges. Known fields are type-checked (400 naming
 * the field); unknown and read-only fields (id, add_time, creator_user_id, origin, ...) are ignored.
 */
import type { DealChanges } from '../../store/deal-model.ts';
import { isDateOnly, parseBodyTime } from '../../time.ts';
import { badRequest } from '../../http/envelope.ts';

type Kind = 'int' | 'int?' | 'number' | 'number?' | 'string' | 'string?' | 'bool' | 'date?' | 'time' | 'time?' | 'ints' | 'object' | 'status';

const FIELDS: Record<string, Kind> = {
  title: 'string', owner_id: 'int', person_id: 'int?', org_id: 'int?', pipeline_id: 'int', stage_id: 'int',
  value: 'number', currency: 'string', status: 'status', probability: 'number?', lost_reason: 'string?',
  visible_to: 'int', expected_close_date: 'date?', label_ids: 'ints', custom_fields: 'object', is_archived: 'bool',
  archive_time: 'time?', won_time: 'time', lost_time: 'time', close_time: 'time?', is_deleted: 'bool',
  origin_id: 'string?', channel: 'int?', channel_id: 'string?',
};

const WRITABLE_STATUSES = ['open', 'won', 'lost'];
const VISIBILITY = [1, 3, 5, 7];

export interface ParsedDealBody {
  changes: DealChanges;
  /** PATCH/POST may carry is_deleted; true means soft delete. */
  isDeleted?: boolean;
}

export function parseDealBody(body: unknown, opts: { requireTitle: boolean }): ParsedDealBody {
  if (body === undefined || body === null) body = {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
  const src = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(FIELDS)) {
    const v = src[key];
    if (v === undefined) continue;
    out[key] = convert(key, kind, v);
  }
  const title = out['title'];
  if (title !== undefined && (title as string).trim() === '') throw badRequest('Deal title must be given.');
  if (opts.requireTitle && title === undefined) throw badRequest('Deal title must be given.');
  const p = out['probability'];
  if (typeof p === 'number' && (p < 0 || p > 100)) throw badRequest('Validation failed: probability: Must be between 0 and 100');
  if (out['visible_to'] !== undefined && !VISIBILITY.includes(out['visible_to'] as number)) {
    throw badRequest(`Validation failed: visible_to: Must be one of ${VISIBILITY.join(', ')}`);
  }
  const { is_deleted, ...changes } = out;
  return is_deleted === undefined
    ? { changes: changes as DealChanges }
    : { changes: changes as DealChanges, isDeleted: is_deleted as boolean };
}

function convert(key: string, kind: Kind, v: unknown): unknown {
  const fail = (what: string) => badRequest(`Validation failed: ${key}: Expected ${what}`);
  if (v === null) {
    if (kind.endsWith('?')) return null;
    throw fail(`${kind} (not null)`);
  }
  switch (kind) {
    case 'int':
    case 'int?':
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw fail('integer');
      return v;
    case 'number':
    case 'number?':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail('number');
      return v;
    case 'string':
    case 'string?':
      if (typeof v !== 'string') throw fail('string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw fail('boolean');
      return v;
    case 'date?':
      if (typeof v !== 'string' || !isDateOnly(v)) throw fail('date YYYY-MM-DD');
      return v;
    case 'time':
    case 'time?': {
      const sec = typeof v === 'string' ? parseBodyTime(v) : null;
      if (sec === null) throw fail('date-time (RFC 3339 or YYYY-MM-DD HH:MM:SS)');
      return sec;
    }
    case 'ints':
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) throw fail('array of integers');
      return v;
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) throw fail('object');
      return v;
    case 'status':
      if (typeof v !== 'string' || !WRITABLE_STATUSES.includes(v)) throw fail(`one of ${WRITABLE_STATUSES.join(', ')}`);
      return v;
  }
}
