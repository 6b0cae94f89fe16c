import type { ListSpec } from '../catalog/types.ts';
import type { PipedriveClient } from './client.ts';
import { PipedriveResponseError } from './errors.ts';

/** Where the next page starts: a v2/v1 cursor or a v1 offset. */
export type PagePosition = { readonly cursor: string } | { readonly start: number };

export interface ListPage {
  /** The raw API objects of the page, in order. */
  readonly items: readonly unknown[];
  readonly next: PagePosition | null;
}

/**
 * One page of a list, in any of Pipedrive's pagination styles (v2 cursor, v1 offset, v1 cursor, none).
 * The envelope is checked here; a malformed page throws before anything leaves this module.
 */
export async function fetchListPage(
  client: PipedriveClient,
  list: ListSpec,
  query: Readonly<Record<string, string>>,
  position: PagePosition | null,
  parentId?: string | number,
  signal?: AbortSignal,
): Promise<ListPage> {
  const path = parentId === undefined ? list.endpoint : list.endpoint.replace('{id}', encodeURIComponent(String(parentId)));
  const q: Record<string, string> = { ...list.params, ...query };
  if (list.pagination !== 'none' && list.limit) q.limit = String(list.limit);
  if (position && 'cursor' in position) q.cursor = position.cursor;
  if (position && 'start' in position) q.start = String(position.start);
  const res = await client.getJson(path, q, list.endpoint, signal);
  const body = res.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || body.success !== true) {
    throw new PipedriveResponseError(`${path}: expected {"success":true,...}, got ${JSON.stringify(body)?.slice(0, 120)}`);
  }
  const rows = at(body, list.rowsPath ?? 'data');
  const items = rows === null || rows === undefined ? [] : rows;
  if (!Array.isArray(items)) throw new PipedriveResponseError(`${path}: "${list.rowsPath ?? 'data'}" is not an array`);
  return { items, next: nextPosition(path, list, body) };
}

function nextPosition(path: string, list: ListSpec, body: Record<string, unknown>): PagePosition | null {
  const extra = (body.additional_data ?? {}) as Record<string, unknown>;
  switch (list.pagination) {
    case 'none':
      return null;
    case 'v2-cursor':
    case 'v1-cursor': {
      const c = extra.next_cursor ?? null;
      if (c !== null && typeof c !== 'string') throw new PipedriveResponseError(`${path}: additional_data.next_cursor is not a string`);
      return c ? { cursor: c } : null;
    }
    case 'v1-offset': {
      const p = (extra.pagination ?? null) as { more_items_in_collection?: unknown; next_start?: unknown; start?: unknown; limit?: unknown } | null;
      if (!p || p.more_items_in_collection !== true) return null;
      if (typeof p.next_start === 'number') return { start: p.next_start };
      // The spec omits next_start; derive it from start + limit when absent.
      if (typeof p.start === 'number' && typeof p.limit === 'number') return { start: p.start + p.limit };
      throw new PipedriveResponseError(`${path}: more_items_in_collection without next_start`);
    }
  }
}

/** Reads a dot path (`data.goals`, `address.locality`) of a JSON value. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A raw item and, for per-parent lists, the parent object it was listed under. */
export interface ListedItem {
  readonly item: unknown;
  readonly parent?: unknown;
}

/** Every item of a list (walking parents for per-parent lists), page by page. */
export async function* listAll(client: PipedriveClient, list: ListSpec, query: Readonly<Record<string, string>> = {}, signal?: AbortSignal): AsyncGenerator<ListedItem[]> {
  if (list.forEachParent) {
    const { list: parentList, idField } = list.forEachParent;
    for await (const parents of listAll(client, parentList, {}, signal)) {
      for (const p of parents) {
        const id = at(p.item, idField);
        if (id === undefined || id === null) continue;
        for await (const page of pagesOf(client, list, query, String(id), signal)) yield page.map((item) => ({ item, parent: p.item }));
      }
    }
    return;
  }
  for await (const page of pagesOf(client, list, query, undefined, signal)) yield page.map((item) => ({ item }));
}

async function* pagesOf(client: PipedriveClient, list: ListSpec, query: Readonly<Record<string, string>>, parentId: string | undefined, signal?: AbortSignal) {
  let pos: PagePosition | null = null;
  do {
    const page = await fetchListPage(client, list, query, pos, parentId, signal);
    yield page.items;
    pos = page.next;
  } while (pos);
}
