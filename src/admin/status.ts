/**
 * What the admin API shows of a running connector: its tables with their sync state and columns. Built
 * by the producer (src/producer.ts) from its runtime state; no secret and no row value is part of it.
 */
export interface ConnectorStatus {
  readonly name: string;
  readonly topicPrefix: string;
  /**
   * `starting` until the first session resumed its tables; `paused` through the admin API; `stopped` once the
   * producer ended; `awaiting-authorization` for a connector created through the API whose OAuth
   * authorization is not done.
   */
  readonly state: 'starting' | 'running' | 'paused' | 'stopped' | 'awaiting-authorization';
  readonly schemaChanges: 'allow-all' | 'allow-columns' | 'block-all';
  /** What Pipedrive's last answers said of the API budget (null before the first, or when not reported). */
  readonly budget: { readonly dailyTokensRemaining: number | null; readonly burstRemaining: number | null; readonly low: boolean };
  readonly tables: readonly TableStatus[];
}

export interface TableStatus {
  readonly name: string;
  /** `ok`, `waiting` (Pipedrive failing, retried), `failed` (an error of the table's own), `blocked` (rules or the schema-change policy), `paused` (admin API). */
  readonly state: 'ok' | 'waiting' | 'failed' | 'blocked' | 'paused';
  /** ISO 8601: versions updated before it are published (null before the first row). */
  readonly cursor: string | null;
  readonly snapshotDone: boolean;
  /** When the last pass that reached the table's end started (ISO 8601), null before one did in this process. */
  readonly lastPassStartedAt: string | null;
  readonly error: string | null;
  readonly columns: readonly ColumnStatus[];
}

export interface ColumnStatus {
  readonly name: string;
  readonly type: string;
  /** `synced`, `hashed` (published as `publishedAs`), `blocked` (rules), `blocked-by-policy` (a new column the policy holds back). */
  readonly sync: 'synced' | 'hashed' | 'blocked' | 'blocked-by-policy';
  /** The published field name, null when blocked. */
  readonly publishedAs: string | null;
}
