import { tableByName } from './catalog/index.ts';
import type { TableSpec } from './catalog/types.ts';
import type { ChangeBatch, ChangeEvent } from './capture/change.ts';
import { KeyIndex } from './capture/key-index.ts';
import type { Row } from './pipedrive/row.ts';
import type { ResyncState, TableOffset } from './capture/offset.ts';
import { markerTables, nextGeneration, resyncComplete, resyncOffset, resyncPending } from './capture/resync.ts';
import type { TableRuntime } from './capture/table-runtime.ts';
import type { Logger } from './observe/log.ts';
import type { OutRecord, ProducerKafka } from './publish/kafka.ts';
import { MARKER_HEADER, RESYNC_HEADER, type MarkerKind, type Publisher } from './publish/publisher.ts';

/** What `ProducerRun.resync` answers once the begin markers of every table are committed. */
export interface ResyncResult {
  readonly tables: readonly string[];
  readonly generation: number;
}

/** A re-sync asked for and not yet started on all its tables. */
interface Request {
  readonly tables: string[];
  /** Tables whose begin transaction was not handed to Kafka yet. */
  readonly waiting: Set<string>;
  readonly requestedAt: number;
  generation?: number;
  readonly begun: Promise<void>[];
  resolve(result: ResyncResult): void;
  reject(err: Error): void;
}

/** What a producer session lends the re-syncs. */
export interface ResyncSessionDeps {
  /** The offsets the session resumed from (re-syncs in progress continue). */
  readonly offsets: ReadonlyMap<string, TableOffset>;
  /** The tables the session syncs (the schema-change policy may hold some back). */
  readonly running: readonly string[];
  readonly publisher: Publisher;
  readonly kafka: Pick<ProducerKafka, 'partitionCounts' | 'readKeys'>;
  /** The clear key of a record read back from a table's topic (as the key indexes read them). */
  readKey(spec: TableSpec): (key: Buffer, header: (name: string) => string | undefined) => Row;
  /** The session's key indexes: a re-synced table's are emptied (every row is published again). */
  readonly indexes: Map<string, KeyIndex>;
  /** Publishes a batch of the table with further records in its transaction; resolves once handed to Kafka. */
  publish(t: TableRuntime, batch: ChangeBatch, also: readonly OutRecord[]): Promise<{ committed: Promise<void> }>;
  readonly log: Logger;
}

/**
 * The re-syncs of one connector, across producer sessions: requests wait for their table's next batch
 * boundary (`boundary`, called by the scheduler), where one transaction carries the table's reset offset and
 * the begin markers; from then on the table's records carry the generation, and the batch that completes
 * the re-import carries the end markers (`decorate`). A request is only remembered in memory until its
 * begin transaction commits; from then on the state topic holds it, and a restart resumes the re-import.
 */
export class Resyncs {
  private readonly requests: Request[] = [];
  private session: ResyncSession | undefined;
  /** Starts the scheduler's next round now (set by the running session). */
  wake: () => void = () => undefined;

  constructor(
    private readonly connector: string,
    /** The connector's tables that have a source (child, history and change-log tables come with theirs). */
    private readonly tables: readonly string[],
  ) {}

  /** Asks for a re-sync; rejects at once for a table the connector does not sync. */
  request(tables: readonly string[] | 'all'): Promise<ResyncResult> {
    const names = tables === 'all' ? [...this.tables] : [...new Set(tables)];
    if (names.length === 0) return Promise.reject(new Error(`re-sync of connector ${this.connector}: no table named; name tables or "all"`));
    for (const name of names) {
      if (this.tables.includes(name)) continue;
      const spec = tryTable(name);
      const parent = spec && (spec.sync.kind === 'child' ? spec.sync.parent : spec.sync.kind === 'history' || spec.sync.kind === 'changelog' ? spec.sync.of : undefined);
      const why = parent ? `it is synced with ${parent}: re-sync ${parent}` : spec ? 'the connector does not sync it (TABLES)' : 'there is no such table';
      return Promise.reject(new Error(`re-sync of connector ${this.connector}: table "${name}" cannot be re-synced (${why}); its tables: ${this.tables.join(', ')} (or "all")`));
    }
    return new Promise<ResyncResult>((resolve, reject) => {
      this.requests.push({ tables: names, waiting: new Set(names), requestedAt: Date.now(), begun: [], resolve, reject });
      this.wake();
    });
  }

  /** A producer session starts: re-syncs in progress continue from its offsets. */
  startSession(deps: ResyncSessionDeps): ResyncSession {
    this.session = new ResyncSession(deps, this.requests);
    return this.session;
  }

  /** The session ended: requests whose begin transaction may not have committed wait for the next one. */
  endSession(): void {
    this.session = undefined;
    this.wake = () => undefined;
  }

  /** The producer stopped: requests not started yet fail. */
  stopped(): void {
    for (const r of this.requests.splice(0)) r.reject(new Error(`re-sync of ${r.tables.join(', ')}: the producer of connector ${this.connector} stopped before it started`));
  }
}

export class ResyncSession {
  /** Per table, its re-sync as last handed to Kafka. */
  private readonly state = new Map<string, ResyncState>();
  /** Topic → the generation whose records the key indexes load (tables whose re-sync is in progress). */
  private readonly loading = new Map<string, string>();
  private readonly partitions = new Map<string, number>();

  constructor(
    private readonly deps: ResyncSessionDeps,
    private readonly requests: Request[],
  ) {
    // A table the session does not sync (held back by the schema-change policy) has no boundary to start at.
    for (const request of [...requests]) {
      for (const name of [...request.waiting].filter((n) => !deps.running.includes(n))) {
        request.waiting.delete(name);
        request.tables.splice(request.tables.indexOf(name), 1);
        deps.log('resync-skipped', { table: name, reason: 'the schema-change policy holds the table back (rules.enable)' });
      }
      if (request.waiting.size === 0) this.settle(request);
    }
    for (const [table, offset] of deps.offsets) {
      if (!offset.resync) continue;
      this.state.set(table, offset.resync);
      if (!resyncPending(offset)) continue;
      for (const name of markerTables(tableByName(table))) this.loading.set(deps.publisher.topicOf(name), String(offset.resync.generation));
    }
  }

  /**
   * Whether a record read back from a topic at start goes into the key indexes. Markers never do; while a
   * table's re-sync is in progress only its records of that generation do — the older ones are what the
   * re-import publishes again, and it must not skip them as unchanged.
   */
  loads(topic: string, header: (name: string) => string | undefined): boolean {
    if (header(MARKER_HEADER) !== undefined) return false;
    const generation = this.loading.get(topic);
    return generation === undefined || header(RESYNC_HEADER) === generation;
  }

  /** Whether a topic's key index may come from a snapshot: not while its table's re-sync is in progress. */
  snapshotUsable(topic: string): boolean {
    return !this.loading.has(topic);
  }

  /** Before a poll of `t`: starts the re-syncs asked for it. */
  async boundary(t: TableRuntime): Promise<void> {
    const name = t.base.name;
    const request = this.requests.find((r) => r.waiting.has(name));
    if (!request) return;
    const { log } = this.deps;
    request.generation ??= nextGeneration(request.requestedAt, request.tables.map((n) => this.state.get(n)?.generation ?? this.deps.offsets.get(n)?.resync?.generation));
    const offset = resyncOffset(t.withNames(t.lastCommitted), request.generation, request.requestedAt);
    const begin = await this.markers(t.base, 'begin', offset.resync!);
    // Set first: the begin batch itself goes through `decorate`.
    this.state.set(name, offset.resync!);
    const { committed } = await this.deps.publish(t, { table: name, events: [], offset }, begin);
    // Every row is published again: the keys known so far must not make the re-import skip them.
    for (const table of [name, ...(t.base.children ?? []).map((c) => c.table), ...(t.base.changelog ? [t.base.changelog.table] : [])]) {
      if (this.deps.indexes.has(table)) this.deps.indexes.set(table, new KeyIndex(tableByName(table)));
    }
    t.restart(offset);
    log('resync-started', { table: name, generation: request.generation, markers: begin.length });
    request.waiting.delete(name);
    request.begun.push(committed);
    if (request.waiting.size === 0) this.settle(request);
  }

  /** Every table of the request started (or was skipped): it answers once their transactions committed. */
  private settle(request: Request): void {
    this.requests.splice(this.requests.indexOf(request), 1);
    const generation = request.generation;
    if (generation === undefined) return request.reject(new Error('re-sync: none of the tables asked for is synced now (held back by the schema-change policy; see the resync-skipped lines)'));
    Promise.all(request.begun).then(
      () => request.resolve({ tables: request.tables, generation }),
      (err: unknown) => request.reject(new Error(`re-sync of ${request.tables.join(', ')}: the transaction starting it failed (${(err as Error).message}); ask again`)),
    );
  }

  /**
   * The batch as published: its offset carries the table's re-sync, and the batch that completes a re-sync's
   * re-import carries its end markers (and marks it done).
   */
  async decorate(t: TableRuntime, batch: ChangeBatch): Promise<{ batch: ChangeBatch; also: OutRecord[] }> {
    const state = this.state.get(t.base.name);
    if (!state) return { batch, also: [] };
    const offset = { ...batch.offset, resync: state };
    if (state.done || !resyncComplete(t.base, offset)) return { batch: { ...batch, offset }, also: [] };
    const done: ResyncState = { ...state, done: true };
    const vanished = await this.vanished(t.base, done);
    const also = await this.markers(t.base, 'end', done);
    this.state.set(t.base.name, done);
    this.deps.log('resync-completed', { table: t.base.name, generation: done.generation, markers: also.length, deletes: vanished.length });
    return { batch: { ...batch, events: [...batch.events, ...vanished], offset: { ...offset, resync: done } }, also };
  }

  /** A pass ended with the re-import complete but no batch that said so (the end markers still have to go out). */
  completedUnmarked(t: TableRuntime): boolean {
    const state = this.state.get(t.base.name);
    return state !== undefined && !state.done && resyncComplete(t.base, t.lastCommitted);
  }

  /**
   * Deletes for the keys the topics hold live from before the re-sync that it did not publish again: rows
   * deleted in Pipedrive while nobody watched (purged after 30 days). They go out with the end markers, so
   * the topics themselves equal the source — for consumers that do not read markers (Kafka Connect's JDBC
   * sink) and for sinks that start after compaction removed the markers. Read back from the topics at
   * completion (records of older generations only), so a re-sync that crashed and resumed finds them too.
   */
  private async vanished(spec: TableSpec, state: ResyncState): Promise<ChangeEvent[]> {
    const generation = String(state.generation);
    const tables = [spec.name, ...(spec.children ?? []).map((c) => c.table)].filter((n) => this.deps.indexes.has(n));
    const before = new Map(tables.map((n) => [this.deps.publisher.topicOf(n), { spec: tableByName(n), read: this.deps.readKey(tableByName(n)), index: new KeyIndex(tableByName(n)) }]));
    await this.deps.kafka.readKeys([...before.keys()], (topic, { key, live, header }) => {
      const t = before.get(topic);
      if (!t || header(MARKER_HEADER) !== undefined || header(RESYNC_HEADER) === generation) return;
      t.index.load(t.read(key, header), live);
    });
    const events: ChangeEvent[] = [];
    for (const t of before.values()) {
      const now = this.deps.indexes.get(t.spec.name)!;
      for (const [k, key] of t.index.liveKeys()) if (!now.knows(k)) events.push({ table: t.spec.name, key, row: key, op: 'd', sourceTsMs: state.startedAt });
    }
    return events;
  }

  private async markers(spec: TableSpec, kind: 'begin' | 'end', state: ResyncState): Promise<OutRecord[]> {
    const { publisher } = this.deps;
    const topics = markerTables(spec).map((n) => publisher.topicOf(n));
    const unknown = topics.filter((topic) => !this.partitions.has(topic));
    if (unknown.length > 0) for (const [topic, n] of await this.deps.kafka.partitionCounts(unknown)) this.partitions.set(topic, n);
    const marker: MarkerKind = kind === 'begin' ? 'resync-begin' : 'resync-end';
    return markerTables(spec).flatMap((n) => {
      const count = this.partitions.get(publisher.topicOf(n));
      return count === undefined ? [] : publisher.markerRecords(n, marker, state, count);
    });
  }
}

function tryTable(name: string): TableSpec | undefined {
  try {
    return tableByName(name);
  } catch {
    return undefined;
  }
}
