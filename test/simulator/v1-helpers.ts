/** Test helpers for the v1 API: a JSON client with PUT, and walkers for offset and cursor lists. */
import type { Simulator } from '../../src/simulator/server.ts';
import type { Reply } from './helpers.ts';

export type Json = Record<string, unknown>;
export type Query = Record<string, string | number>;

export interface V1Client {
  get<T = Json>(path: string, query?: Query): Promise<Reply<T>>;
  post<T = Json>(path: string, body: unknown): Promise<Reply<T>>;
  put<T = Json>(path: string, body: unknown): Promise<Reply<T>>;
  patch<T = Json>(path: string, body: unknown): Promise<Reply<T>>;
  del<T = Json>(path: string): Promise<Reply<T>>;
}

/** Paths are given without the prefix: `/notes` → `/v1/notes` (or `/api/v1/notes`). */
export function v1Client(sim: Simulator, token: string = sim.token, prefix = '/v1'): V1Client {
  const call = async (method: string, path: string, body?: unknown, query?: Query): Promise<Reply<never>> => {
    const url = new URL(sim.baseUrl + prefix + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { 'x-api-token': token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as never, headers: res.headers };
  };
  return {
    get: (path, query) => call('GET', path, undefined, query),
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
  };
}

export interface OffsetBody<T = Json> {
  success: boolean;
  data: T[];
  additional_data: { pagination: { start: number; limit: number; more_items_in_collection: boolean; next_start?: number }; [k: string]: unknown };
}

/** Every page of an offset list, following next_start. */
export async function walkOffset<T = Json>(api: V1Client, path: string, query: Query = {}): Promise<{ items: T[]; pages: OffsetBody<T>[] }> {
  const pages: OffsetBody<T>[] = [];
  let start = 0;
  for (;;) {
    const r = await api.get<OffsetBody<T>>(path, { ...query, start });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    pages.push(r.body);
    const p = r.body.additional_data.pagination;
    if (!p.more_items_in_collection) break;
    if (p.next_start === undefined || p.next_start <= start) throw new Error('next_start does not advance');
    start = p.next_start;
  }
  return { items: pages.flatMap((p) => p.data), pages };
}

/** Every page of a cursor list (projects, tasks, changelog). */
export async function walkCursor<T = Json>(api: V1Client, path: string, query: Query = {}): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: Reply<{ data: T[]; additional_data: { next_cursor: string | null } }> = await api.get(path, cursor ? { ...query, cursor } : query);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    items.push(...r.body.data);
    cursor = r.body.additional_data.next_cursor;
    if (++pages > 10_000) throw new Error('cursor pagination does not terminate');
  } while (cursor);
  return { items, pages };
}

/** `YYYY-MM-DD HH:MM:SS` of epoch seconds (v1 format). */
export function v1Time(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export const V1_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
