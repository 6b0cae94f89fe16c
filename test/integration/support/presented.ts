import type { ColumnSpec, ColumnType } from '../../../src/catalog/types.ts';

/**
 * The local Pipedrive's presented JSON, read the way any HTTP client would: raw `fetch` with the API
 * token, pages followed by hand — not the product's client, pagination or row parsing. Used by the
 * differential test's oracle for the columns the simulator's store does not hold (see expected.ts).
 */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class PresentedApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** One call: the whole parsed body (success checked). */
  async get(path: string, params: Readonly<Record<string, string | number>> = {}): Promise<Json> {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const url = `${this.baseUrl}${path}${qs.size > 0 ? `?${qs}` : ''}`;
    const res = await fetch(url, { headers: { 'x-api-token': this.token } });
    const body = (await res.json()) as Json;
    if (!res.ok || body.success !== true) throw new Error(`oracle: GET ${url}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  /** Every item of a v2 cursor list. */
  async v2List(path: string, params: Readonly<Record<string, string | number>> = {}): Promise<Json[]> {
    const out: Json[] = [];
    let cursor: string | undefined;
    do {
      const body = await this.get(path, { ...params, limit: 500, ...(cursor ? { cursor } : {}) });
      out.push(...(body.data as Json[]));
      cursor = (body.additional_data as Json | null | undefined)?.next_cursor as string | undefined;
    } while (cursor);
    return out;
  }

  /** Every item of a v1 offset list (`start`, `additional_data.pagination`). */
  async v1List(path: string, limit: number, params: Readonly<Record<string, string | number>> = {}): Promise<Json[]> {
    const out: Json[] = [];
    let start = 0;
    for (;;) {
      const body = await this.get(path, { ...params, start, limit });
      const page = (body.data as Json[] | null) ?? [];
      out.push(...page);
      const p = (body.additional_data as Json | undefined)?.pagination as Json | undefined;
      if (p?.more_items_in_collection !== true) return out;
      start = Number(p.next_start);
    }
  }

  /** The `data` of an unpaginated call (an array or one object). */
  async data(path: string, params: Readonly<Record<string, string | number>> = {}): Promise<unknown> {
    return (await this.get(path, params)).data;
  }
}

/** What a column path may point into besides the item (see ColumnSpec.path). */
export interface PathContext {
  readonly parent?: unknown;
  readonly index?: number;
}

/** The value a column's declared path names in a presented item (`a.b`, `from.0.x`, `$parent.id`, `$index`, `$value`). */
export function atPath(item: unknown, col: ColumnSpec, ctx: PathContext = {}): unknown {
  const path = col.path ?? col.name;
  if (path === '$index') return ctx.index;
  if (path === '$value') return item;
  const [root, rest] = path.startsWith('$parent.') ? [ctx.parent, path.slice('$parent.'.length)] : [item, path];
  let cur: unknown = root;
  for (const part of rest.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isObj(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

/**
 * A presented JSON value → the oracle's canonical form of its column type: numbers, booleans, text,
 * ISO-8601 instants (v2 `…Z`, v1 `YYYY-MM-DD HH:MM:SS[.mmm]`, ISO with ms), `YYYY-MM-DD` dates, JSON as
 * the value itself. Anything else is an error in the oracle's reading of the API, not a difference.
 */
export function fromPresented(type: ColumnType, v: unknown, what: string): unknown {
  if (v === null || v === undefined) return null;
  const bad = (): Error => new Error(`oracle: ${what}: unexpected ${type} ${JSON.stringify(v)}`);
  switch (type) {
    case 'long':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
      throw bad();
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      throw bad();
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw bad();
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw bad();
    case 'timestamp':
      {
        const iso = instant(v);
        if (iso === null) throw bad();
        return iso;
      }
    case 'date':
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
      throw bad();
    case 'json':
      return v;
  }
}

/** Epoch seconds → the canonical instant. */
export function isoOfSeconds(sec: number | null): string | null {
  return sec === null ? null : new Date(sec * 1000).toISOString();
}

/** A time as the API writes it → the canonical instant (ISO 8601 UTC with ms), or null when not one. */
export function instant(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  // v2 `2026-05-04T09:00:00Z`, ISO with ms `…00.000Z`, v1 `2026-05-04 09:00:00` and `… 09:00:00.000` (UTC).
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)Z| (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?))$/.exec(v);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2] ?? m[3]}Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
