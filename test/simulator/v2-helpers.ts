/** Helpers for the v2 entity tests: typed list bodies and a walker over any v2 list endpoint. */
import type { Client, Reply } from './helpers.ts';

export type Item = { id: number; [field: string]: unknown };
export interface Page<T = Item> {
  success: boolean;
  data: T[];
  additional_data: { next_cursor: string | null };
}
export interface One<T = Item> {
  success: boolean;
  data: T;
}

export const iso = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

/** Every page of a v2 list; fails on a non-200 or a walk that does not end. */
export async function walk<T = Item>(api: Client, path: string, query: Record<string, string | number> = {}): Promise<{ rows: T[]; pages: number }> {
  const rows: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: Reply<Page<T>> = await api.get<Page<T>>(path, cursor ? { ...query, cursor } : query);
    if (r.status !== 200) throw new Error(`${path} page ${pages}: ${r.status} ${JSON.stringify(r.body)}`);
    rows.push(...r.body.data);
    cursor = r.body.additional_data.next_cursor;
    pages += 1;
    if (pages > 10_000) throw new Error('pagination does not terminate');
  } while (cursor);
  return { rows, pages };
}

export const ids = (rows: readonly { id: number }[]): number[] => rows.map((r) => r.id);
