import { OPEN_END, type KeyHistory, type SinkValue } from './model.ts';

/**
 * Type-2 history as a pure function of facts. A key's history is a set of versions (one per start time)
 * and a set of delete times; the stored rows and a new batch are both such sets, so merging them is a
 * union, and a record seen twice, or late, or after newer ones, lands where it belongs and changes nothing
 * else. The chain follows from the set:
 *
 * - versions ordered by start; each ends 1 ms before the next starts; the last live one is active and ends
 *   at OPEN_END (9999-12-31T23:59:59.999Z);
 * - a delete ends the version active at its time (the newest one started before it; of one started in the
 *   same second, only if it came first), marking it deleted; its `_end` is the delete time (for a key that
 *   came back within the delete's second, that is also the next version's start);
 * - a repeated start is the same version: the content of the last record by offset wins.
 *
 * Stored rows carry their facts: a row is a version, and a deleted row's `_end` is its delete time.
 */
export interface StoredVersion {
  readonly start: number;
  readonly end: number;
  readonly active: boolean;
  readonly deleted: boolean;
}

/** New chain columns of a stored version. */
export interface ChainUpdate {
  readonly start: number;
  readonly end: number;
  readonly active: boolean;
  readonly deleted: boolean;
}

export interface KeyPlan {
  /** The batch's versions as complete rows (`_start`, `_end`, `_active`, `_deleted` set): insert, or replace by start. */
  readonly rows: Array<Record<string, SinkValue>>;
  /** Stored versions whose chain columns change. */
  readonly updates: ChainUpdate[];
}

interface Version {
  readonly start: number;
  /** Place among facts of the same time (see KeyHistory.seq); stored facts come before any in the batch. */
  readonly seq: bigint;
  readonly row?: Readonly<Record<string, SinkValue>>;
  readonly stored?: StoredVersion;
}

/** Stored facts get places below any Kafka offset, in their stored order; a row's delete right after the row. */
const STORED_BASE = -(2n ** 62n);

/**
 * Merges one key's stored versions with a batch's. `stored` must hold every stored version from the last
 * one started before the batch's earliest time on: earlier versions cannot change, and that one holds any
 * stored delete at or after that time.
 */
export function planKeyHistory(stored: readonly StoredVersion[], incoming: KeyHistory): KeyPlan {
  // A first sync's case (a key new to the table, one version, no delete): active and open, nothing to merge.
  // The row is completed in place, not copied: it is the batch's own (src/sink/reduce.ts made it for this
  // batch), and an apply tried again plans again and sets the same four columns.
  if (stored.length === 0 && incoming.deletes.length === 0 && incoming.versions.length === 1) {
    const v = incoming.versions[0]!;
    const row = v.row as Record<string, SinkValue>;
    row._deleted = false;
    // The version starts at its record's source time: the row's `_source_ts` is that Date already.
    const ts = row._source_ts;
    row._start = ts instanceof Date && ts.getTime() === v.start ? ts : new Date(v.start);
    row._end = OPEN_END;
    row._active = true;
    return { rows: [row], updates: [] };
  }
  const versions = new Map<number, Version>();
  const deletes = new Map<number, bigint>();
  const addDelete = (at: number, seq: bigint) => {
    const have = deletes.get(at);
    if (have === undefined || seq < have) deletes.set(at, seq);
  };
  [...stored]
    .sort((a, b) => a.start - b.start)
    .forEach((s, i) => {
      const seq = STORED_BASE + BigInt(i) * 2n;
      versions.set(s.start, { start: s.start, seq, stored: s });
      if (s.deleted) addDelete(s.end, seq + 1n);
    });
  for (const v of incoming.versions) {
    const have = versions.get(v.start);
    // A repeated version keeps the place it first had (so a delete it preceded stays its delete).
    versions.set(v.start, { start: v.start, seq: have && have.seq < v.seq ? have.seq : v.seq, row: v.row, stored: have?.stored });
  }
  for (const d of incoming.deletes) addDelete(d.at, d.seq);

  const chain = [...versions.values()].sort((a, b) => a.start - b.start);
  const deletedAt = new Map<Version, number>();
  for (const [at, seq] of deletes) {
    let target: Version | undefined;
    for (const v of chain) {
      if (v.start > at || (v.start === at && v.seq > seq)) break;
      target = v;
    }
    // A delete before every known version ends nothing (its key's earlier versions were never seen).
    if (target) deletedAt.set(target, Math.min(deletedAt.get(target) ?? Infinity, at));
  }

  const plan: KeyPlan = { rows: [], updates: [] };
  chain.forEach((v, i) => {
    const next = chain[i + 1];
    const del = deletedAt.get(v);
    // A deleted version ends at its delete time, even when the key came back within that same second (its end
    // is then the next start): the stored row must keep the delete's time for a repeat of it to be recognised.
    const end = del !== undefined ? del : next ? next.start - 1 : OPEN_END.getTime();
    const active = next === undefined && del === undefined;
    const deleted = del !== undefined;
    if (v.row) {
      plan.rows.push({ ...v.row, _deleted: deleted, _start: new Date(v.start), _end: new Date(end), _active: active });
    } else if (v.stored && (v.stored.end !== end || v.stored.active !== active || v.stored.deleted !== deleted)) {
      plan.updates.push({ start: v.start, end, active, deleted });
    }
  });
  return plan;
}

/** The earliest time a batch's facts of one key touch (see planKeyHistory for the stored versions it needs). */
export function earliestTime(k: KeyHistory): number {
  return Math.min(...k.versions.map((v) => v.start), ...k.deletes.map((d) => d.at));
}
