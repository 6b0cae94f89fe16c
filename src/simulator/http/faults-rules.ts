/**
 * Fault rules: what to break (kind), where (operationId / path pattern / method) and when
 * (probability, nth request, every n, a window on the sim clock, at most `times`).
 *
 * A rule is plain JSON so the same shape works in `startSimulator({ faults })`, `sim.faults.add()`,
 * `POST /_sim/faults` and `pipedrive-cdc sim --faults '<json>'`. parseFaultRule() validates input
 * from any of them and names the offending field.
 */
import { parseRfc3339 } from '../time.ts';

export const FAULT_KINDS = ['status', 'delay', 'drop', 'truncate', 'cloudflare403', 'omitFields'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRuleInput {
  /** Default: "fault-N". Used by DELETE /_sim/faults/{id}. */
  id?: string;
  /**
   * status: answer `status` (default 500) with a Pipedrive JSON error body;
   * delay: wait `delayMs` (real time) then carry on (combines with other rules);
   * drop: destroy the socket — before the handler, or with `after: true` once it ran (the write
   *   happened, the answer is lost);
   * truncate: send the first half of the route's JSON body (its own status, usually 200);
   * cloudflare403: Cloudflare's HTML "you have been blocked" page, 403 text/html;
   * omitFields: the route answers normally, but `fields` are removed from every row of `data` (a
   *   malformed page: what a client must refuse rather than publish half-empty rows).
   */
  kind: FaultKind;
  fields?: string[];
  status?: number;
  delayMs?: number;
  after?: boolean;
  /** Scope: operationId(s) (e.g. "getDeals"); all operations when absent. */
  operation?: string | string[];
  /** Scope: URL path pattern, `*` matches anything (e.g. "/api/v2/deals/*"). */
  path?: string;
  method?: string;
  /** When: each in-scope request fires with this chance, from a PRNG seeded with `seed`. */
  probability?: number;
  /** Default: the simulator's seed. */
  seed?: number;
  /** When: only the nth in-scope request(s), counted from 1 since the rule was added. */
  nth?: number | number[];
  /** When: every nth in-scope request (n, 2n, 3n, …). */
  every?: number;
  /** When: sim-clock window [from, until), RFC 3339 or epoch ms. */
  from?: string | number;
  until?: string | number;
  /** Fire at most this many times. */
  times?: number;
}

/** A validated rule, conditions normalised. */
export interface FaultRule {
  id: string;
  kind: FaultKind;
  status: number;
  delayMs: number;
  after: boolean;
  fields: readonly string[];
  operations: ReadonlySet<string> | undefined;
  path: RegExp | undefined;
  method: string | undefined;
  probability: number | undefined;
  seed: number | undefined;
  nth: ReadonlySet<number> | undefined;
  every: number | undefined;
  fromMs: number | undefined;
  untilMs: number | undefined;
  times: number | undefined;
  /** The input as given (with its id), for listing. */
  input: FaultRuleInput;
}

export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(['id', 'kind', 'status', 'delayMs', 'after', 'fields', 'operation', 'path', 'method',
  'probability', 'seed', 'nth', 'every', 'from', 'until', 'times']);

/** Validate one rule (from JSON or code); `nextId` names it when it has no id. */
export function parseFaultRule(raw: unknown, nextId: () => string): FaultRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FaultRuleError('a fault rule must be a JSON object');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KNOWN_KEYS.has(key)) throw new FaultRuleError(`unknown fault rule field: ${key}`);
  if (!(FAULT_KINDS as readonly unknown[]).includes(r['kind'])) {
    throw new FaultRuleError(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const kind = r['kind'] as FaultKind;
  const id = optString(r, 'id') ?? nextId();
  const status = optInt(r, 'status', 400, 599) ?? 500;
  if (r['status'] !== undefined && kind !== 'status') throw new FaultRuleError('status only applies to kind "status"');
  const delayMs = optInt(r, 'delayMs', 0, 600_000);
  if ((kind === 'delay') !== (delayMs !== undefined)) throw new FaultRuleError('delayMs is required for, and only for, kind "delay"');
  const after = r['after'];
  if (after !== undefined && (typeof after !== 'boolean' || kind !== 'drop')) throw new FaultRuleError('after must be a boolean, for kind "drop"');

  const fields = r['fields'];
  if ((kind === 'omitFields') !== (fields !== undefined)) throw new FaultRuleError('fields is required for, and only for, kind "omitFields"');
  if (fields !== undefined && (!Array.isArray(fields) || fields.length === 0 || !fields.every((f) => typeof f === 'string' && f !== ''))) {
    throw new FaultRuleError('fields must be a non-empty list of field names');
  }

  const op = r['operation'];
  const ops = op === undefined ? undefined : typeof op === 'string' ? [op] : op;
  if (ops !== undefined && (!Array.isArray(ops) || ops.length === 0 || !ops.every((o) => typeof o === 'string' && o !== ''))) {
    throw new FaultRuleError('operation must be an operationId or a non-empty list of them');
  }
  const path = optString(r, 'path');
  const nth = r['nth'];
  const nths = nth === undefined ? undefined : typeof nth === 'number' ? [nth] : nth;
  if (nths !== undefined && (!Array.isArray(nths) || nths.length === 0 || !nths.every((n) => Number.isSafeInteger(n) && (n as number) >= 1))) {
    throw new FaultRuleError('nth must be a positive integer or a list of them');
  }
  const probability = r['probability'];
  if (probability !== undefined && (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))) {
    throw new FaultRuleError('probability must be a number between 0 and 1');
  }
  const fromMs = optTime(r, 'from');
  const untilMs = optTime(r, 'until');
  if (fromMs !== undefined && untilMs !== undefined && untilMs <= fromMs) throw new FaultRuleError('until must be after from');

  return {
    id,
    kind,
    status,
    delayMs: delayMs ?? 0,
    after: after === true,
    fields: (fields as string[] | undefined) ?? [],
    operations: ops && new Set(ops as string[]),
    path: path === undefined ? undefined : globToRegExp(path),
    method: optString(r, 'method')?.toUpperCase(),
    probability: probability as number | undefined,
    seed: optInt(r, 'seed', 0, 2 ** 32 - 1),
    nth: nths && new Set(nths as number[]),
    every: optInt(r, 'every', 1, Number.MAX_SAFE_INTEGER),
    fromMs,
    untilMs,
    times: optInt(r, 'times', 1, Number.MAX_SAFE_INTEGER),
    input: { ...(r as unknown as FaultRuleInput), id },
  };
}

/** A rule or a list of rules (the CLI flag and the admin POST accept both). */
export function parseFaultRuleList(raw: unknown, nextId: () => string): FaultRule[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((r) => parseFaultRule(r, nextId));
}

/** `*` matches any run of characters; everything else is literal. Anchored at both ends. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`);
}

function optString(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new FaultRuleError(`${key} must be a non-empty string`);
  return v;
}

function optInt(r: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new FaultRuleError(`${key} must be an integer between ${min} and ${max}`);
  }
  return v;
}

function optTime(r: Record<string, unknown>, key: string): number | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' ? parseRfc3339(v) : null;
  if (ms === null) throw new FaultRuleError(`${key} must be an RFC 3339 date-time or epoch milliseconds`);
  return ms;
}
