import type { InRecord } from './kafka.ts';
import type { SinkTable, SqlType } from './model.ts';
import type { DecodedRecord } from './reduce.ts';

/**
 * Re-sync markers, the sink's side (the producer's: src/producer-resync.ts, the contract: docs/ARCHITECTURE.md).
 * A re-sync of a table publishes a begin marker on every partition of its topics, every row again with the
 * header `pipedrive-cdc.resync` = its generation, then an end marker on every partition. Markers are
 * tombstones with a sentinel key (never a row's): they are recorded in `_pipedrive_cdc_markers`, in the
 * transaction that moves the partition's offset, never applied as rows. Latest-state tables keep the
 * generation of each row's last write in `_resync`; once every partition of a topic has passed the end
 * marker of a generation, the rows written before it (an older `_resync`) are rows Pipedrive no longer has
 * — purged while nobody was watching — and are soft-deleted, once (a `swept` row records it).
 */
export const MARKERS_TABLE = '_pipedrive_cdc_markers';
export const RESYNC_HEADER = 'pipedrive-cdc.resync';
export const MARKER_HEADER = 'pipedrive-cdc.marker';
export const RESYNC_STARTED_HEADER = 'pipedrive-cdc.resync-started-at';
export const PARTITIONS_HEADER = 'pipedrive-cdc.partitions';
/** The headers the sink reads (the consumer hands over only these). */
export const SINK_HEADERS = [RESYNC_HEADER, MARKER_HEADER, RESYNC_STARTED_HEADER, PARTITIONS_HEADER] as const;

export interface SinkMarker {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly kind: 'resync-begin' | 'resync-end';
  readonly generation: number;
  readonly startedAt: number;
  /** The topic's partitions when the marker was written: each gets one. */
  readonly partitions: number;
  /** The topic's table in the destination. */
  readonly table: SinkTable;
}

/** The generation a record was written by (null: before any re-sync of its table). */
export function resyncOf(record: InRecord): number | null {
  const g = record.headers?.[RESYNC_HEADER];
  return g === undefined ? null : Number(g);
}

/** Splits a batch's decoded records into rows and markers (markers are not rows: their key is a sentinel). */
export function splitMarkers(topic: string, partition: number, decoded: readonly DecodedRecord[], records: readonly InRecord[]): { rows: DecodedRecord[]; markers: SinkMarker[] } {
  const rows: DecodedRecord[] = [];
  const markers: SinkMarker[] = [];
  decoded.forEach((d, i) => {
    const h = records[i]!.headers;
    const kind = h?.[MARKER_HEADER];
    if (kind === undefined) return void rows.push(d);
    const generation = Number(h?.[RESYNC_HEADER]);
    const startedAt = Number(h?.[RESYNC_STARTED_HEADER]);
    const partitions = Number(h?.[PARTITIONS_HEADER]);
    if ((kind !== 'resync-begin' && kind !== 'resync-end') || ![generation, startedAt, partitions].every(Number.isFinite)) {
      throw new Error(`${topic}/${partition}@${d.offset}: a marker this sink does not understand (${MARKER_HEADER}=${kind}); upgrade the sink`);
    }
    markers.push({ topic, partition, offset: d.offset, kind, generation, startedAt, partitions, table: d.table });
  });
  return { rows, markers };
}

export function markersTableSql(qualified: string, type: (t: SqlType) => string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified} (topic ${type('text')}, "partition" ${type('integer')}, generation ${type('bigint')}, kind ${type('text')}, ` +
    `"offset" ${type('bigint')}, started_at ${type('timestamp')}, partitions ${type('integer')}, applied_at ${type('timestamp')}, PRIMARY KEY (topic, "partition", generation, kind))`
  );
}

/** What recording markers needs from a destination, inside its apply transaction. */
export interface MarkerDialect {
  /** The markers table, qualified. */
  readonly markers: string;
  /** A latest-state table, qualified. */
  qualified(table: string): string;
  /** Its physical column name, quoted. */
  column(table: SinkTable, name: string): string;
  param(i: number, type: SqlType): string;
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Runs a statement; resolves to the rows it changed. */
  run(sql: string, params: unknown[]): Promise<number>;
}

/**
 * Records the markers and soft-deletes, for each topic whose every partition passed a generation's end
 * marker now, the rows older than that generation. Runs after the batches' rows, in their transaction; with
 * several sinks on one database the caller holds a lock making these transactions take turns (PostgreSQL:
 * an advisory lock), so the last end marker of a topic is seen with all the others, and a sweep runs once.
 */
export async function applyMarkers(markers: readonly SinkMarker[], d: MarkerDialect, now: Date): Promise<{ swept: number }> {
  const p = d.param;
  let swept = 0;
  for (const m of markers) {
    await d.run(
      `INSERT INTO ${d.markers} VALUES (${p(1, 'text')}, ${p(2, 'integer')}, ${p(3, 'bigint')}, ${p(4, 'text')}, ${p(5, 'bigint')}, ${p(6, 'timestamp')}, ${p(7, 'integer')}, ${p(8, 'timestamp')}) ON CONFLICT DO NOTHING`,
      [m.topic, m.partition, m.generation, m.kind, m.offset.toString(), new Date(m.startedAt).toISOString(), m.partitions, now.toISOString()],
    );
  }
  const ends = new Map(markers.filter((m) => m.kind === 'resync-end').map((m) => [`${m.topic}\u0000${m.generation}`, m]));
  for (const m of ends.values()) {
    const [passed] = await d.query(`SELECT count(DISTINCT "partition") AS n FROM ${d.markers} WHERE topic = ${p(1, 'text')} AND generation = ${p(2, 'bigint')} AND kind = 'resync-end'`, [m.topic, m.generation]);
    const [done] = await d.query(`SELECT count(*) AS n FROM ${d.markers} WHERE topic = ${p(1, 'text')} AND generation = ${p(2, 'bigint')} AND kind = 'swept'`, [m.topic, m.generation]);
    if (Number(passed?.n ?? 0) < m.partitions || Number(done?.n ?? 0) > 0) continue;
    // History tables keep every version: a re-sync adds none there, and deletes nothing.
    if (m.table.kind === 'latest') {
      const c = (n: string) => d.column(m.table, n);
      swept += await d.run(
        `UPDATE ${d.qualified(m.table.name)} SET ${c('_deleted')} = true, ${c('_op')} = 'd', ${c('_source_ts')} = ${p(1, 'timestamp')}, ${c('_synced')} = ${p(2, 'timestamp')} ` +
          `WHERE (${c('_resync')} IS NULL OR ${c('_resync')} < ${p(3, 'bigint')}) AND (${c('_deleted')} IS NULL OR NOT ${c('_deleted')})`,
        [new Date(m.startedAt).toISOString(), now.toISOString(), m.generation],
      );
    }
    await d.run(
      `INSERT INTO ${d.markers} VALUES (${p(1, 'text')}, -1, ${p(2, 'bigint')}, 'swept', -1, ${p(3, 'timestamp')}, ${p(4, 'integer')}, ${p(5, 'timestamp')}) ON CONFLICT DO NOTHING`,
      [m.topic, m.generation, new Date(m.startedAt).toISOString(), m.partitions, now.toISOString()],
    );
  }
  return { swept };
}
