/** Test helpers: a simulator on a frozen clock and a tiny JSON client for it. */
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/server.ts';

export const T0 = new Date('2026-01-15T12:00:00Z');
export const T0_SEC = T0.getTime() / 1000;
export const V2_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The parts of a v2 deal the tests look at; the rest stays unknown. */
export interface DealJson {
  id: number;
  title: string;
  status: string;
  add_time: string;
  update_time: string;
  is_deleted: boolean;
  [field: string]: unknown;
}
export interface ListBody {
  success: boolean;
  data: DealJson[];
  additional_data: { next_cursor: string | null };
}
export interface DataBody<T = DealJson> {
  success: boolean;
  data: T;
}
export interface ErrorBody {
  success: false;
  error: string;
  error_info: string;
  errorCode?: number;
  data?: null;
  additional_data?: null;
}

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Client {
  get<T = unknown>(path: string, query?: Record<string, string | number>): Promise<Reply<T>>;
  post<T = unknown>(path: string, body: unknown): Promise<Reply<T>>;
  patch<T = unknown>(path: string, body: unknown): Promise<Reply<T>>;
  del<T = unknown>(path: string): Promise<Reply<T>>;
}

/** A simulator whose clock is frozen at T0 (tests move it explicitly). */
export async function startFrozen(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ seed: 42, ...opts, clock: opts.clock ?? new SimClock({ start: T0, frozen: true }) });
}

export function client(sim: Simulator, token: string | null = sim.token): Client {
  const call = async (method: string, path: string, body?: unknown, query?: Record<string, string | number>): Promise<Reply<never>> => {
    const url = new URL(sim.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (token !== null) headers['x-api-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as never, headers: res.headers };
  };
  return {
    get: (path, query) => call('GET', path, undefined, query),
    post: (path, body) => call('POST', path, body),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
  };
}

/** Walk every page of GET /api/v2/deals, optionally doing something between pages. */
export async function walkDeals(
  api: Client,
  query: Record<string, string | number>,
  between?: (page: number, rowsSoFar: readonly DealJson[]) => Promise<void>,
): Promise<{ ids: number[]; rows: DealJson[]; pages: number }> {
  const rows: DealJson[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: Reply<ListBody> = await api.get<ListBody>('/api/v2/deals', cursor ? { ...query, cursor } : query);
    if (r.status !== 200) throw new Error(`page ${pages}: ${r.status} ${JSON.stringify(r.body)}`);
    rows.push(...r.body.data);
    cursor = r.body.additional_data.next_cursor;
    pages += 1;
    if (pages > 10_000) throw new Error('pagination does not terminate');
    if (cursor && between) await between(pages, rows);
  } while (cursor);
  return { ids: rows.map((d) => d.id), rows, pages };
}
