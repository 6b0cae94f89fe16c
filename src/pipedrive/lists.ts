import type { ListSpec } from '../catalog/types.ts';
import type { PipedriveClient } from './client.ts';
import { PipedriveResponseError } from './errors.ts';
import { counterSignature, sharedWalkOf } from './shared-walk.ts';

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
  parent?: ParentRef,
  signal?: AbortSignal,
): Promise<ListPage> {
  const path = fill(list.endpoint, parent, encodeURIComponent);
  const q: Record<string, string> = { ...Object.fromEntries(Object.entries(list.params ?? {}).map(([k, v]) => [k, fill(v, parent, (x) => x)])), ...query };
  if (list.pagination !== 'none' && list.limit) q.limit = String(list.limit);
  if (position && 'cursor' in position) q.cursor = position.cursor;
  if (position && 'start' in position) q.start = String(position.start);
  const res = await client.getJson(path, q, list.endpoint, signal);
  const body = res.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || body.success !== true) {
    throw new PipedriveResponseError(`${path}: expected {"success":true,...}, got ${JSON.stringify(body)?.slice(0, 120)}`);
  }
  const rows = at(body, list.rowsPath ?? 'data');
  // Some endpoints answer one object (filter helpers, a permission set): one row.
  const items = rows === null || rows === undefined ? [] : Array.isArray(rows) ? rows : typeof rows === 'object' ? [rows] : null;
  if (items === null) throw new PipedriveResponseError(`${path}: "${list.rowsPath ?? 'data'}" is neither a list nor an object`);
  return { items, next: nextPosition(path, list, body) };
}

/** The parent a per-parent call is made for: its id (or comma-joined ids of a batch) and, unbatched, the object. */
export interface ParentRef {
  readonly id: string;
  readonly object?: unknown;
}

/** Fills `{id}` and `{<path>}` templates from the parent. */
function fill(template: string, parent: ParentRef | undefined, encode: (s: string) => string): string {
  if (!parent) return template;
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = name === 'id' ? parent.id : at(parent.object, name);
    if (v === undefined || v === null) throw new PipedriveResponseError(`list template {${name}}: the parent has no such field`);
    return encode(String(v));
  });
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
      // Usually under additional_data.pagination; leads (per the spec) put the fields on additional_data itself.
      const p = (extra.pagination ?? ('more_items_in_collection' in extra ? extra : null)) as { more_items_in_collection?: unknown; next_start?: unknown; start?: unknown; limit?: unknown } | null;
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

/** A row's API object, the parent it was listed under (per-parent lists) and its wrapper (`itemPath` lists). */
export interface ListedItem {
  readonly item: unknown;
  readonly parent?: unknown;
  readonly wrapper?: unknown;
}

/** Every item of a list (walking parents for per-parent lists), page by page. */
export async function* listAll(client: PipedriveClient, list: ListSpec, query: Readonly<Record<string, string>> = {}, signal?: AbortSignal): AsyncGenerator<readonly ListedItem[]> {
  for await (const unit of listUnits(client, list, null, query, signal)) yield unit.items;
}

/**
 * A list walked in resumable units: a page of a plain list, or for a per-parent list one page of parents
 * with every child call for them. `next` is where the walk resumes after this unit (null: it is complete),
 * so a walk interrupted between units — a crash, a batch limit — goes on from there.
 */
export interface ListUnit {
  readonly items: readonly ListedItem[];
  readonly next: PagePosition | null;
  /** Per-parent lists with counters, unbatched: the parents called in this unit, with their signature. */
  readonly walked?: readonly { readonly id: string; readonly signature: string }[];
  /** Parents not called because their rows are those of their last walk (ParentWalk said `same`). */
  readonly same?: readonly string[];
  /** Parents not called because their counters say they have nothing there. */
  readonly none?: readonly string[];
}

/**
 * Which parents of a per-parent list with counters get called (capture/parent-memo.ts): `same` when the
 * parent's signature equals the one of its last walk. Without a ParentWalk every parent with something
 * there is called.
 */
export interface ParentWalk {
  unchanged(parentId: string, signature: string): boolean;
}

export async function* listUnits(
  client: PipedriveClient,
  list: ListSpec,
  from: PagePosition | null,
  query: Readonly<Record<string, string>> = {},
  signal?: AbortSignal,
  /** The memo of per-parent walks, and the table walking (shared parent pages, see shared-walk.ts). */
  opts: { readonly walk?: ParentWalk; readonly table?: string } = {},
): AsyncGenerator<ListUnit> {
  const { walk, table } = opts;
  const unwrap = (raw: unknown, parent: unknown): ListedItem => (list.itemPath ? { item: at(raw, list.itemPath), wrapper: raw, parent } : { item: raw, parent });
  let pos = from;
  if (!list.forEachParent) {
    do {
      const page = await fetchListPage(client, list, query, pos, undefined, signal);
      yield { items: page.items.map((raw) => unwrap(raw, undefined)), next: page.next };
      pos = page.next;
    } while (pos);
    return;
  }
  const { list: parentList, idField, batch, counters } = list.forEachParent;
  const walks = sharedWalkOf(client);
  const shared = counters ? walks : undefined;
  do {
    const at0 = pos;
    const parents = await walks.parentPage(parentList, at0, table, () => fetchListPage(client, parentList, {}, at0, undefined, signal));
    const withIds = parents.items.map((item) => ({ object: item, id: at(item, idField) })).filter((p) => p.id !== undefined && p.id !== null);
    const walked: { id: string; signature: string }[] = [];
    const same: string[] = [];
    const none: string[] = [];
    // Counters first: a parent with nothing there is never called, one unchanged since its last walk neither.
    let toCall = withIds;
    if (counters) {
      toCall = [];
      for (const p of withIds) {
        const id = String(p.id);
        const signature = counterSignature(p.object, counters);
        if (signature === null) none.push(id);
        else if (!batch && walk?.unchanged(id, signature)) same.push(id);
        else {
          if (!batch) walked.push({ id, signature });
          toCall.push(p);
        }
      }
    }
    const size = batch ?? 1;
    const items: ListedItem[] = [];
    for (let i = 0; i < toCall.length; i += size) {
      const group = toCall.slice(i, i + size);
      const ref: ParentRef = size === 1 ? { id: String(group[0]!.id), object: group[0]!.object } : { id: group.map((g) => String(g.id)).join(',') };
      const load = async () => {
        const all: unknown[] = [];
        for await (const page of pagesOf(client, list, query, ref, signal)) all.push(...page);
        return all;
      };
      const raws = shared && size === 1 ? await shared.items(list, ref.id, counterSignature(ref.object, counters!)!, load) : await load();
      for (const raw of raws) items.push(unwrap(raw, ref.object));
    }
    yield { items, next: parents.next, ...(counters ? { walked, same, none } : {}) };
    pos = parents.next;
  } while (pos);
}

async function* pagesOf(client: PipedriveClient, list: ListSpec, query: Readonly<Record<string, string>>, parent: ParentRef | undefined, signal?: AbortSignal) {
  let pos: PagePosition | null = null;
  do {
    const page = await fetchListPage(client, list, query, pos, parent, signal);
    yield page.items;
    pos = page.next;
  } while (pos);
}
