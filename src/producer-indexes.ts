/**
 * The producer's key indexes over a session: loaded at its start (from each topic's snapshot plus the records
 * written after it, or from the whole compacted topic), and snapshotted when everything published is
 * committed — at most every SNAPSHOT_INTERVAL_MS after a flush, and when the session ends cleanly.
 * Composition only: the index is capture's (capture/key-index.ts), the file format and its validity rules are
 * capture/key-index-snapshot.ts', the reads Kafka's behind ProducerKafka.
 */
import type { TableSpec } from './catalog/types.ts';
import { KeyIndex } from './capture/key-index.ts';
import { decodeSnapshot, snapshotParts, SnapshotStore, SnapshotUnusable } from './capture/key-index-snapshot.ts';
import type { Logger } from './observe/log.ts';
import type { ProducerKafka } from './publish/kafka.ts';
import { HASH_HEADER, SOURCE_TS_HEADER } from './publish/publisher.ts';
import type { Row } from './pipedrive/row.ts';

/** Snapshots are written at most this often while running (a clean stop always writes one). */
const SNAPSHOT_INTERVAL_MS = 10 * 60_000;

export interface IndexedTopic {
  readonly spec: TableSpec;
  readonly topic: string;
  /** The clear key of a record read from the topic (its key bytes and headers). */
  readonly read: (key: Buffer, header: (name: string) => string | undefined) => Row;
  /** False for indexes holding clear values of hashed key columns: they never go to disk. */
  readonly snapshot: boolean;
}

export interface SessionIndexes {
  readonly indexes: Map<string, KeyIndex>;
  /** After a successful flush: writes the snapshots when due (`force` at a clean end of the session). */
  committed(force?: boolean): Promise<void>;
}

export async function loadIndexes(
  kafka: ProducerKafka,
  topics: readonly IndexedTopic[],
  opts: {
    connector: string;
    stateDir: string | undefined;
    log: Logger;
    /** The map to fill (table → index); others may replace an index in it later (a re-sync empties one). */
    indexes?: Map<string, KeyIndex>;
    /** Whether a record read back goes into the index (default all); see producer-resync.ts. */
    accept?: (topic: string, header: (name: string) => string | undefined) => boolean;
    /** Whether the topic's snapshot may be used (a table being re-synced loads only its generation's records). */
    snapshotUsable?: (topic: string) => boolean;
    nowMs?: () => number;
    intervalMs?: number;
  },
): Promise<SessionIndexes> {
  const { log } = opts;
  const now = opts.nowMs ?? Date.now;
  const store = opts.stateDir === undefined ? undefined : new SnapshotStore(opts.stateDir, opts.connector);
  const clusterId = store && topics.some((t) => t.snapshot) ? await kafka.clusterId() : '';
  const indexes = opts.indexes ?? new Map<string, KeyIndex>();
  const byTopic = new Map<string, IndexedTopic>();
  const from = new Map<string, ReadonlyMap<number, bigint>>();
  for (const t of topics) {
    let index: KeyIndex | undefined;
    const bytes = store && t.snapshot && (opts.snapshotUsable?.(t.topic) ?? true) ? readSnapshot(store, t.topic, log) : undefined;
    if (bytes) {
      try {
        const snap = decodeSnapshot(bytes, t.spec, { connector: opts.connector, topic: t.topic, clusterId, now: await kafka.topicOffsets(t.topic) });
        index = snap.index;
        from.set(t.topic, snap.positions);
        log('key-index-snapshot-loaded', { table: t.spec.name, keys: index.size, positions: Object.fromEntries([...snap.positions].map(([p, o]) => [p, String(o)])) });
      } catch (err) {
        if (!(err instanceof SnapshotUnusable)) throw err;
        log('key-index-snapshot-unused', { table: t.spec.name, reason: err.message, then: 'reading the whole topic' });
      }
    }
    index ??= new KeyIndex(t.spec);
    indexes.set(t.spec.name, index);
    byTopic.set(t.topic, t);
  }
  // Keys are applied as they are read (a key's last record comes last), so only the compact index is held.
  await kafka.readKeys(
    [...byTopic.keys()],
    (topic, { key, live, header }) => {
      const t = byTopic.get(topic);
      if (!t || (opts.accept && !opts.accept(topic, header))) return;
      const ts = header(SOURCE_TS_HEADER);
      indexes.get(t.spec.name)!.load(t.read(key, header), live, ts === undefined ? undefined : Number(ts), header(HASH_HEADER));
    },
    from,
  );
  let lastWrittenMs = now();
  const intervalMs = opts.intervalMs ?? SNAPSHOT_INTERVAL_MS;
  return {
    indexes,
    async committed(force = false) {
      if (!store || (!force && now() - lastWrittenMs < intervalMs)) return;
      lastWrittenMs = now();
      const started = Date.now();
      let keys = 0;
      for (const t of byTopic.values()) {
        const index = indexes.get(t.spec.name);
        if (!t.snapshot || !index) continue;
        // Offsets first: the index holds at least everything below them (nothing is in flight after a flush).
        const positions = new Map((await kafka.topicOffsets(t.topic)).map((p) => [p.partition, p.high]));
        if (positions.size === 0) continue;
        try {
          store.write(t.topic, snapshotParts(index, { connector: opts.connector, topic: t.topic, clusterId, positions }));
          keys += index.size;
        } catch (err) {
          // A cache that cannot be written costs the next restart a full read, nothing else.
          log('key-index-snapshot-failed', { table: t.spec.name, path: store.pathOf(t.topic), error: (err as Error).message });
        }
      }
      log('key-index-snapshots-written', { keys, ms: Date.now() - started });
    },
  };
}

function readSnapshot(store: SnapshotStore, topic: string, log: Logger): Buffer | undefined {
  try {
    return store.read(topic);
  } catch (err) {
    log('key-index-snapshot-unused', { topic, reason: (err as Error).message, then: 'reading the whole topic' });
    return undefined;
  }
}
