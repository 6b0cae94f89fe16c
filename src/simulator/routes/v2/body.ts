/**
 * Write bodies of the v2 entity routes → validated changes. Known fields are type-checked (a 400
 * naming the field); unknown and read-only fields (id, add_time, is_deleted, ...) are ignored, as in
 * deal-body.ts. Store refusals (WriteRefused) become Pipedrive-shaped errors here too.
 */
import type { RequestHandler } from 'express';
import { ApiError, badRequest, entityNotFound } from '../../http/envelope.ts';
import { WriteRefused } from '../../store/errors.ts';
import { ADDRESS_FIELDS, makeAddress, withPrimary, type Address, type Contact } from '../../store/model-kit.ts';
import { isDateOnly } from '../../time.ts';

export type Check = (v: unknown, fail: (what: string) => ApiError) => unknown;
export type Kind = 'int' | 'int?' | 'number' | 'number?' | 'string' | 'string?' | 'bool' | 'date?' | 'ints' | Check;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields of `body` that `kinds` knows, converted; a missing body is {}. */
export function parseBody(body: unknown, kinds: Readonly<Record<string, Kind>>): Json {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) throw badRequest('Request body must be a JSON object');
  const out: Json = {};
  for (const [key, kind] of Object.entries(kinds)) {
    const v = body[key];
    if (v !== undefined) out[key] = convert(key, kind, v);
  }
  return out;
}

function convert(key: string, kind: Kind, v: unknown): unknown {
  const fail = (what: string): ApiError => badRequest(`Validation failed: ${key}: Expected ${what}`);
  if (typeof kind === 'function') return kind(v, fail);
  if (v === null) {
    if (kind.endsWith('?')) return null;
    throw fail(`${kind} (not null)`);
  }
  switch (kind) {
    case 'int': case 'int?':
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw fail('integer');
      return v;
    case 'number': case 'number?':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail('number');
      return v;
    case 'string': case 'string?':
      if (typeof v !== 'string') throw fail('string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw fail('boolean');
      return v;
    case 'date?':
      if (typeof v !== 'string' || !isDateOnly(v)) throw fail('date YYYY-MM-DD');
      return v;
    case 'ints':
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) throw fail('array of integers');
      return v;
  }
}

/** A required, non-blank string (name, subject, title). */
export function requireText(out: Json, key: string, required: boolean, message: string): void {
  const v = out[key];
  if ((required && v === undefined) || (typeof v === 'string' && v.trim() === '')) throw badRequest(message);
}

export const VISIBILITY: Check = (v, fail) => {
  if (v !== 1 && v !== 3 && v !== 5 && v !== 7) throw fail('one of 1, 3, 5, 7');
  return v;
};

/** One of `values`. */
export const oneOf = (values: readonly string[]): Check => (v, fail) => {
  if (typeof v !== 'string' || !values.includes(v)) throw fail(`one of ${values.join(', ')}`);
  return v;
};

/** emails[] / phones[]: [{value, primary?, label?}]; exactly one primary after the write. */
export const CONTACTS: Check = (v, fail) => {
  if (!Array.isArray(v)) throw fail('array of {value, primary, label}');
  const list: Contact[] = v.map((c) => {
    if (!isObject(c) || typeof c['value'] !== 'string') throw fail('array of {value, primary, label}');
    if (c['primary'] !== undefined && typeof c['primary'] !== 'boolean') throw fail('primary as a boolean');
    if (c['label'] !== undefined && typeof c['label'] !== 'string') throw fail('label as a string');
    return { value: c['value'], primary: c['primary'] === true, label: (c['label'] as string | undefined) ?? 'work' };
  });
  return withPrimary(list);
};

/** An address object {value, country, ...} (or null to clear). */
export const ADDRESS: Check = (v, fail): Address | null => {
  if (v === null) return null;
  if (!isObject(v)) throw fail('address object {value, country, locality, ...}');
  for (const k of ADDRESS_FIELDS) {
    if (v[k] !== undefined && v[k] !== null && typeof v[k] !== 'string') throw fail(`address ${k} as a string`);
  }
  return makeAddress(v as Record<string, string | null>);
};

/** "HH:MM" or "HH:MM:SS" → "HH:MM:SS" (activity due_time and duration); null clears. */
export const CLOCK_TIME: Check = (v, fail) => {
  if (v === null) return null;
  if (typeof v !== 'string' || !/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/.test(v)) throw fail('time HH:MM');
  return v.length === 5 ? `${v}:00` : v;
};

/** The object custom_fields; normalized against the field catalog by the route. */
export const OBJECT: Check = (v, fail) => {
  if (!isObject(v)) throw fail('object');
  return v;
};

/** Run a handler turning store refusals into Pipedrive errors (404 → the spec's not-found body). */
export function guarded(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    try {
      const r: unknown = handler(req, res, next);
      if (r instanceof Promise) r.catch(next);
    } catch (e) {
      if (e instanceof WriteRefused) next(e.status === 404 ? entityNotFound() : badRequest(e.message));
      else next(e);
    }
  };
}
