import type { ListSpec } from '../catalog/types.ts';
import type { PipedriveClient } from './client.ts';
import { at } from './lists.ts';

/**
 * The signature of a parent's counters for a per-parent list (`forEachParent.counters`): null when the
 * parent has nothing there (every counter 0, null or absent), else their values in declared order. Two
 * walks that see the same signature for a parent would read the same rows.
 */
export function counterSignature(parent: unknown, counters: readonly string[]): string | null {
  const values = counters.map((c) => at(parent, c) ?? null);
  if (values.every((v) => v === null || v === 0)) return null;
  return JSON.stringify(values);
}

/** How long an answer waits for the other tables of its endpoint: a pass of them is far shorter. */
const KEEP_MS = 6 * 3600 * 1000;
/** How long a page of parents serves the other walks: their view is that of the first walk, this old at most. */
const PARENT_PAGE_MS = 10 * 60 * 1000;

interface Entry {
  readonly items: Promise<readonly unknown[]>;
  /** Tables of the endpoint that have not taken it yet. */
  left: number;
  readonly atMs: number;
}

/**
 * One walk of a per-parent endpoint shared by the tables it feeds (MAIL_MESSAGE and MAIL_THREAD both read
 * `/v1/deals/{id}/mailMessages`): the first table to need a parent's rows at a signature calls Pipedrive,
 * the others take its answer. An answer is kept until every other registered table took it (or for
 * KEEP_MS), so memory holds at most the answers of one walk that the slower table has not reached yet.
 */
export class SharedWalk {
  private readonly tables = new Map<string, Set<string>>();
  private readonly answers = new Map<string, Entry>();
  /** Per parent list: the tables walking it, and the parent fields any of them uses. */
  private readonly parentWalkers = new Map<string, { tables: Set<string>; fields: Set<string> }>();
  private readonly parentPages = new Map<string, Entry & { readonly next: unknown }>();

  /** A table reading this per-parent list (called once per table when its source is made). */
  register(list: ListSpec, table: string, parentPaths: readonly string[] = []): void {
    if (list.forEachParent?.counters) {
      const set = this.tables.get(list.endpoint) ?? new Set<string>();
      set.add(table);
      this.tables.set(list.endpoint, set);
    }
    const parent = list.forEachParent;
    // Shared parent pages are trimmed: only for tables that read nothing of the parent but its id.
    if (!parent || !walksOnlyIdAndCounters(list) || parentPaths.some((p) => p !== '$parent.id')) return;
    const key = parentKey(parent.list);
    const w = this.parentWalkers.get(key) ?? { tables: new Set<string>(), fields: new Set<string>() };
    w.tables.add(table);
    for (const f of [parent.idField, ...(parent.counters ?? [])]) w.fields.add(f);
    this.parentWalkers.set(key, w);
  }

  /**
   * A page of parents: another table's read of the same page when it is recent, else `load()`. Shared pages
   * hold only the parent fields the walking tables use (the id and their counters), so a walk of 100,000
   * deals by six tables is one walk, not six, and holds ~100 bytes a deal meanwhile.
   */
  async parentPage<P extends { readonly items: readonly unknown[]; readonly next: unknown }>(parentList: ListSpec, position: unknown, table: string | undefined, load: () => Promise<P>): Promise<P> {
    const w = this.parentWalkers.get(parentKey(parentList));
    if (!w || w.tables.size < 2 || table === undefined || !w.tables.has(table)) return load();
    const key = `${parentKey(parentList)}\u0000${JSON.stringify(position)}`;
    const now = Date.now();
    const hit = this.parentPages.get(key);
    if (hit && now - hit.atMs < PARENT_PAGE_MS) {
      if (--hit.left <= 0) this.parentPages.delete(key);
      return { items: await hit.items, next: hit.next } as unknown as P;
    }
    for (const [k, e] of this.parentPages) if (now - e.atMs >= PARENT_PAGE_MS) this.parentPages.delete(k);
    const page = await load();
    const fields = [...w.fields];
    const trimmed = page.items.map((item) => Object.fromEntries(fields.map((f) => [f, at(item, f)])));
    this.parentPages.set(key, { items: Promise.resolve(trimmed), next: page.next, left: w.tables.size - 1, atMs: now });
    return page;
  }

  /** The rows of one parent at a signature: another table's answer when there is one, else `load()`. */
  items(list: ListSpec, parentId: string, signature: string, load: () => Promise<readonly unknown[]>): Promise<readonly unknown[]> {
    const sharers = this.tables.get(list.endpoint)?.size ?? 0;
    if (sharers < 2) return load();
    const key = `${list.endpoint}\u0000${parentId}\u0000${signature}`;
    const now = Date.now();
    const hit = this.answers.get(key);
    if (hit && now - hit.atMs < KEEP_MS) {
      if (--hit.left <= 0) this.answers.delete(key);
      return hit.items;
    }
    this.sweep(now);
    const items = load();
    this.answers.set(key, { items, left: sharers - 1, atMs: now });
    // A failed call is nobody's answer: the next table calls again.
    items.catch(() => this.answers.delete(key));
    return items;
  }

  /** Answers held now (tests: a walk leaves none behind once every table took its share). */
  get held(): number {
    return this.answers.size;
  }

  private sweep(now: number): void {
    if (this.answers.size < 1024) return;
    for (const [k, e] of this.answers) if (now - e.atMs >= KEEP_MS) this.answers.delete(k);
  }
}

function parentKey(list: ListSpec): string {
  return `${list.endpoint}?${JSON.stringify(list.params ?? {})}`;
}

/** The child list fills only `{id}` from its parent: a trimmed parent (id and counters) serves it. */
function walksOnlyIdAndCounters(list: ListSpec): boolean {
  const templates = [list.endpoint, ...Object.values(list.params ?? {})].join(' ').match(/\{[^}]+\}/g) ?? [];
  return list.forEachParent?.idField === 'id' && templates.every((t) => t === '{id}');
}

const walks = new WeakMap<PipedriveClient, SharedWalk>();

/** The shared walk of one connector (one client per connector). */
export function sharedWalkOf(client: PipedriveClient): SharedWalk {
  let w = walks.get(client);
  if (!w) walks.set(client, (w = new SharedWalk()));
  return w;
}
