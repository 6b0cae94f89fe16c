/**
 * v1 request bodies → typed values. v1 endpoints take JSON, and several (files, users) also
 * form-encoded bodies, so numbers and booleans may arrive as strings; both are accepted. Unknown
 * keys are ignored; a wrong type is a 400 naming the field.
 */
import type { Request } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { isDateOnly } from '../../time.ts';

export type Kind = 'string' | 'string?' | 'int' | 'int?' | 'number' | 'bool' | 'flag' | 'uuid' | 'uuid?' | 'date' | 'date?' | 'ints' | 'uuids' | 'object';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('Request body must be a JSON object');
  return b as Record<string, unknown>;
}

/** Read the keys of `spec` present in the body; the result holds only keys that were given. */
export function readFields<K extends string>(body: Record<string, unknown>, spec: Record<K, Kind>): Partial<Record<K, unknown>> {
  const out: Partial<Record<K, unknown>> = {};
  for (const [key, kind] of Object.entries(spec) as [K, Kind][]) {
    if (body[key] !== undefined) out[key] = convert(key, kind, body[key]);
  }
  return out;
}

export function requireFields(body: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = body[k];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) throw badRequest(`Validation failed: ${k}: Required`);
  }
}

function convert(key: string, kind: Kind, v: unknown): unknown {
  const fail = (what: string) => badRequest(`Validation failed: ${key}: Expected ${what}`);
  const nullable = kind.endsWith('?');
  if (v === null || (nullable && v === '')) {
    if (nullable) return null;
    throw fail(`${kind} (not null)`);
  }
  switch (kind) {
    case 'string':
    case 'string?':
      if (typeof v !== 'string') throw fail('string');
      return v;
    case 'int':
    case 'int?': {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (!Number.isSafeInteger(n) || (n as number) < 0) throw fail('integer');
      return n;
    }
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw fail('number');
      return n;
    }
    case 'bool':
    case 'flag':
      if (v === true || v === 1 || v === '1' || v === 'true') return true;
      if (v === false || v === 0 || v === '0' || v === 'false') return false;
      throw fail(kind === 'flag' ? '0 or 1' : 'boolean');
    case 'uuid':
    case 'uuid?':
      if (typeof v !== 'string' || !UUID.test(v)) throw fail('UUID');
      return v;
    case 'date':
    case 'date?':
      if (typeof v !== 'string' || !isDateOnly(v)) throw fail('date YYYY-MM-DD');
      return v;
    case 'ints':
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) throw fail('array of integers');
      return v;
    case 'uuids':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && UUID.test(x))) throw fail('array of UUIDs');
      return v;
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) throw fail('object');
      return v;
  }
}

export function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw badRequest(`Validation failed: ${key}: Must be one of ${allowed.join(', ')}`);
  return v as T;
}
