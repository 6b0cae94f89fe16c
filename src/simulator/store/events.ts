/**
 * The company's change journal: every write of every entity store appends one event here. It is what
 * Pipedrive's own change feeds are made of — v1 `/recents` (which items changed since a time), the deal
 * `flow` and `changelog` (field-level old/new values) — so those endpoints read this, never the stores' internals.
 */
export type ItemType =
  | 'activity'
  | 'activityType'
  | 'deal'
  | 'file'
  | 'filter'
  | 'note'
  | 'person'
  | 'organization'
  | 'pipeline'
  | 'product'
  | 'stage'
  | 'user'
  | 'lead'
  | 'leadLabel'
  | 'goal'
  | (string & {});

export interface FieldChange {
  readonly field: string;
  readonly oldValue: unknown;
  readonly newValue: unknown;
}

export interface ChangeEvent {
  /** Ascending, unique. */
  readonly seq: number;
  readonly itemType: ItemType;
  readonly id: number | string;
  readonly action: 'add' | 'update' | 'delete';
  /** Sim clock time of the write (ms; Pipedrive reports whole seconds). */
  readonly timeMs: number;
  /** The acting user (the token's user for API writes). */
  readonly userId: number;
  /** Field-level changes (for add: every set field from null). */
  readonly changes: readonly FieldChange[];
}

export class EventJournal {
  private readonly events: ChangeEvent[] = [];
  /** Events per item (`itemType:id`), oldest first: a deal's changelog is read per deal. */
  private readonly byItem = new Map<string, ChangeEvent[]>();
  private seq = 0;
  /** Told of every write as it is journaled (webhook deliveries); not of a seeded past. */
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  /** Events ever appended (never falls: dropBefore forgets events, not this). Derived views key their caches on it. */
  private appendedTotal = 0;

  append(e: Omit<ChangeEvent, 'seq'>): ChangeEvent {
    const full = this.push(e);
    for (const listen of this.listeners) listen(full);
    return full;
  }

  /** Call `listener` after each later append; returns the unsubscribe function. */
  subscribe(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private push(e: Omit<ChangeEvent, 'seq'>): ChangeEvent {
    const full = { ...e, seq: ++this.seq };
    this.appendedTotal++;
    this.events.push(full);
    this.index(full);
    return full;
  }

  /**
   * A generated account's past (seeding only): events older than every event the journal holds, put before
   * them (seqs renumbered in time order). Called before anything reads the journal.
   */
  seedPast(events: ReadonlyArray<Omit<ChangeEvent, 'seq'>>): void {
    if (events.length === 0) return;
    const past = [...events].sort((a, b) => a.timeMs - b.timeMs);
    const first = this.events[0];
    if (first && past.at(-1)!.timeMs > first.timeMs) throw new Error('journal: a seeded past must predate every recorded event');
    const all = [...past, ...this.events];
    this.events.length = 0;
    this.byItem.clear();
    this.seq = 0;
    for (const e of all) this.push(e);
  }

  private index(e: ChangeEvent): void {
    const k = `${e.itemType}:${e.id}`;
    const list = this.byItem.get(k);
    if (list) list.push(e);
    else this.byItem.set(k, [e]);
  }

  /** Events at or after `sinceMs`, oldest first. */
  since(sinceMs: number, filter?: (e: ChangeEvent) => boolean): ChangeEvent[] {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.timeMs < sinceMs) lo = mid + 1;
      else hi = mid;
    }
    const out = this.events.slice(lo);
    return filter ? out.filter(filter) : out;
  }

  /** All events of one item, oldest first. */
  of(itemType: ItemType, id: number | string): ChangeEvent[] {
    return [...(this.byItem.get(`${itemType}:${id}`) ?? [])];
  }

  /** Forget events older than `cutoffMs` (the real feeds keep a bounded window). */
  dropBefore(cutoffMs: number): void {
    const keep = this.since(cutoffMs);
    this.events.length = 0;
    this.events.push(...keep);
    this.byItem.clear();
    for (const e of keep) this.index(e);
  }

  get size(): number {
    return this.events.length;
  }

  /** A number that moves with every append, for caches of derived data (counters). */
  get generation(): number {
    return this.appendedTotal;
  }
}

/** Field changes between two versions of a flat object (nested values compared as JSON). */
export function diffFields(before: Readonly<Record<string, unknown>> | null, after: Readonly<Record<string, unknown>>, ignore: ReadonlySet<string> = new Set()): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of Object.keys(after)) {
    if (ignore.has(field)) continue;
    const oldValue = before ? before[field] ?? null : null;
    const newValue = after[field] ?? null;
    if (JSON.stringify(oldValue) !== JSON.stringify(newValue)) out.push({ field, oldValue, newValue });
  }
  return out;
}
