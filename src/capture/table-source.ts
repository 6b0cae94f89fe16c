import type { ChangeBatch } from './change.ts';

/**
 * The source contract, as small as Kafka Connect's SourceTask. The engine calls `poll` in a loop on one
 * task; `committed` after the batch's Kafka transaction committed.
 */
export interface TableSource {
  readonly table: string;
  /**
   * The next batch of changes with the offset that follows them, or null when the table has nothing new
   * right now (the engine then waits for the poll interval). Throws PipedriveError on API failures that
   * retries did not cure; the batch is then not published and the offset does not move.
   */
  poll(signal?: AbortSignal): Promise<ChangeBatch | null>;
  /** The batch is durable in Kafka: its offset becomes the base of the next poll. */
  committed(batch: ChangeBatch): void;
  /**
   * True when the next poll would start a backfill (a first full pass, a full import, an id scan): the
   * engine holds those while the day's API budget is low, so incremental polls keep the budget.
   */
  startsBackfill?(nowMs: number): boolean;
}
