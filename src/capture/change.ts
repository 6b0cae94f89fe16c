import type { Row } from '../pipedrive/row.ts';
import type { TableOffset } from './offset.ts';

/** Debezium's op codes: snapshot read, create, update, delete. */
export const Op = { read: 'r', create: 'c', update: 'u', delete: 'd' } as const;
export type Op = (typeof Op)[keyof typeof Op];

/** One row change, before any Kafka concern. */
export interface ChangeEvent {
  readonly table: string;
  /** The primary-key columns of the row. */
  readonly key: Row;
  /** The row (for deletes: its last known values). */
  readonly row: Row;
  readonly op: Op;
  /** Pipedrive's update time of this version (epoch ms). */
  readonly sourceTsMs: number;
  /** Content hash of `row` (not for deletes): lets re-imports and full imports skip unchanged rows. */
  readonly hash?: string;
  /** The API object the row was parsed from (kept in memory only: history reconstruction needs it). */
  readonly raw?: unknown;
  /** The clear key, sealed, when the published key holds a hashed column (see rules.ts). */
  readonly sealedKey?: string;
}

/**
 * What a poll returns: the changes of one page and the table's offset once they are published. The publisher
 * commits both in one Kafka transaction, so an offset never runs ahead of its data.
 */
export interface ChangeBatch {
  readonly table: string;
  readonly events: readonly ChangeEvent[];
  readonly offset: TableOffset;
}
