import type { TableSpec } from '../catalog/types.ts';
import type { Row } from '../pipedrive/row.ts';
import type { ChangeEvent } from './change.ts';

/** A row's key as one string (stable for equal keys). */
export function keyString(spec: TableSpec, row: Row): string {
  return spec.primaryKey.length === 1 ? String(row[spec.primaryKey[0]!]) : JSON.stringify(spec.primaryKey.map((k) => row[k] ?? null));
}

export function keyOf(spec: TableSpec, row: Row): Row {
  return Object.fromEntries(spec.primaryKey.map((k) => [k, row[k] ?? null]));
}

/** The child columns that hold the parent's key, in order (`$parent.<field>` paths). */
export function parentLink(child: TableSpec): Array<{ column: string; parentField: string }> {
  return child.columns.filter((c) => c.path?.startsWith('$parent.')).map((c) => ({ column: c.name, parentField: c.path!.slice('$parent.'.length) }));
}

/**
 * The keys currently live in a table's topic, as published and committed. Needed where deletes are found by
 * absence: id scans (known ids no longer listed) and child tables (children no longer in the parent's
 * array); and, for tables whose history is rebuilt from a changelog, the source time of each key's last
 * published version (deleted keys too: they may come back), so no version is rebuilt twice; and for
 * re-imported tables the content hash of each key's last row, the base of the next import's diff. Rebuilt
 * from the compacted topic at start (time and hash from each record's headers), then kept current from
 * committed events.
 */
export class KeyIndex {
  private readonly live = new Map<string, Row>();
  private readonly byParent = new Map<string, Set<string>>();
  private readonly publishedTs = new Map<string, number>();
  /** Content hash of each live key's last published row (re-imports skip rows that did not change). */
  private readonly hashes = new Map<string, string>();
  private readonly link: Array<{ column: string; parentField: string }>;

  constructor(readonly spec: TableSpec) {
    this.link = parentLink(spec);
  }

  /** A committed change: deletes drop the key, anything else adds it. */
  apply(event: Pick<ChangeEvent, 'key' | 'row' | 'op'> & { readonly sourceTsMs?: number; readonly hash?: string }): void {
    const k = keyString(this.spec, event.key);
    if (event.sourceTsMs !== undefined) this.publishedTs.set(k, event.sourceTsMs);
    if (event.hash !== undefined && event.op !== 'd') this.hashes.set(k, event.hash);
    else this.hashes.delete(k);
    const parent = this.parentOfChild(event.row);
    if (event.op === 'd') {
      this.live.delete(k);
      if (parent !== undefined) this.byParent.get(parent)?.delete(k);
      return;
    }
    this.live.set(k, event.key);
    if (parent !== undefined) {
      let set = this.byParent.get(parent);
      if (!set) this.byParent.set(parent, (set = new Set()));
      set.add(k);
    }
  }

  /**
   * Loads a key read from the topic: `live` false for a tombstone; `sourceTsMs` from the record's header
   * (absent in topics written before it existed). Child rows carry the parent key in their key.
   */
  load(key: Row, live: boolean, sourceTsMs?: number, hash?: string): void {
    this.apply({ key, row: key, op: live ? 'u' : 'd', sourceTsMs, hash });
  }

  /** Remembers a live key's content hash learnt elsewhere (an offset written before hashes were headers). */
  rememberHash(key: string, hash: string): void {
    if (this.live.has(key) && !this.hashes.has(key)) this.hashes.set(key, hash);
  }

  /** Content hash of the key's last published row, if live and known. */
  hashOf(key: string): string | undefined {
    return this.hashes.get(key);
  }

  /** Source time of the key's last published version (live or deleted), if known. */
  publishedAt(key: string): number | undefined {
    return this.publishedTs.get(key);
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  /** Live keys (as rows), for id scans. */
  keys(): Map<string, Row> {
    return new Map(this.live);
  }

  /** Live child keys of one parent row (by the parent's fields). */
  childrenOf(parentRow: Readonly<Record<string, unknown>>): Row[] {
    const pk = JSON.stringify(this.link.map((l) => parentRow[l.parentField] ?? null));
    return [...(this.byParent.get(pk) ?? [])].map((k) => this.live.get(k)!).filter(Boolean);
  }

  get size(): number {
    return this.live.size;
  }

  private parentOfChild(row: Row): string | undefined {
    if (this.link.length === 0) return undefined;
    return JSON.stringify(this.link.map((l) => row[l.column] ?? null));
  }
}
