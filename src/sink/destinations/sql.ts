import { earliestTime, planKeyHistory, type ChainUpdate, type StoredVersion } from '../history.ts';
import { HISTORY_COLUMNS, META_COLUMNS, NATIVE_NAMING, RESYNC_COLUMN, type ApplyItem, type HistoryChanges, type KeyHistory, type LatestChanges, type SinkColumn, type SinkTable, type SinkValue, type SqlType, type TableChanges } from '../model.ts';

/** SQL shared by the destinations (both speak a PostgreSQL-like dialect). */
export const OFFSETS_TABLE = '_pipedrive_cdc_offsets';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A column's name in the destination: a business column's `as` (Fivetran's name) or its field name, a
 * bookkeeping column (`_deleted`, `_start`, …) as the table's naming calls it. Rows stay keyed by field
 * and native names; SQL uses these.
 */
export function physical(table: SinkTable, name: string): string {
  const meta = (table.naming ?? NATIVE_NAMING).meta as Readonly<Record<string, string>>;
  if (name in meta) return meta[name]!;
  return table.columns.find((c) => c.name === name)?.as ?? name;
}

/** `physical`, quoted. */
export function ident(table: SinkTable, name: string): string {
  return quoteIdent(physical(table, name));
}

export function allColumns(table: SinkTable): SinkColumn[] {
  return table.kind === 'history' ? [...table.columns, ...META_COLUMNS, ...HISTORY_COLUMNS] : [...table.columns, ...META_COLUMNS, RESYNC_COLUMN];
}

/** The table's primary key: the topic key, plus `_start` for history tables. */
export function tableKey(table: SinkTable): string[] {
  return table.kind === 'history' ? [...table.primaryKey, '_start'] : [...table.primaryKey];
}

export function createTableSql(table: SinkTable, typeName: (t: SqlType) => string): string {
  const cols = allColumns(table).map((c) => `${ident(table, c.name)} ${typeName(c.type)}`);
  const pk = tableKey(table).map((k) => ident(table, k)).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table.name)} (${cols.join(', ')}, PRIMARY KEY (${pk}))`;
}

/** The items' indexes in the order their offsets rows are locked: by topic, then partition. */
export function casOrder(items: readonly ApplyItem[]): number[] {
  return items
    .map((_, i) => i)
    .sort((a, b) => {
      const [x, y] = [items[a]!.offset, items[b]!.offset];
      return x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition;
    });
}

/** Names a transaction's batches in messages: `t/0 up to offset 9, t/1 up to offset 4`. */
export function describeItems(items: readonly ApplyItem[]): string {
  return items.map((i) => `${i.offset.topic}/${i.offset.partition} up to offset ${i.offset.next - 1n}`).join(', ');
}

/**
 * The changes of several batches (of different partitions) as one list, so each table is staged and written
 * once per transaction: changes to one table are merged when their keys are disjoint — a key lives in one
 * partition, so they are. Batches that do touch a key in common (a topic whose partitions were changed) stay
 * apart and are applied in the order given, as separate transactions in that order would.
 */
export function mergeChanges(lists: ReadonlyArray<readonly TableChanges[]>): TableChanges[] {
  if (lists.length === 1) return [...lists[0]!];
  type Latest = { kind: 'latest'; table: SinkTable; upserts: LatestChanges['upserts'][number][]; tombstones: LatestChanges['tombstones'][number][]; keyOnlyDeletes: LatestChanges['keyOnlyDeletes'][number][] };
  type History = { kind: 'history'; table: SinkTable; keys: KeyHistory[] };
  const out: Array<Latest | History> = [];
  const open = new Map<string, { entry: Latest | History; keys: Set<string> }>();
  for (const list of lists) {
    for (const ch of list) {
      const ids = keyIdsOf(ch);
      const target = open.get(ch.table.name);
      if (target && target.entry.kind === ch.kind && !ids.some((id) => target.keys.has(id))) {
        const e = target.entry;
        if (ch.table.columns.length > e.table.columns.length) e.table = ch.table;
        if (e.kind === 'latest' && ch.kind === 'latest') {
          for (const r of ch.upserts) e.upserts.push(r);
          for (const r of ch.tombstones) e.tombstones.push(r);
          for (const r of ch.keyOnlyDeletes) e.keyOnlyDeletes.push(r);
        } else if (e.kind === 'history' && ch.kind === 'history') {
          for (const k of ch.keys) e.keys.push(k);
        }
        for (const id of ids) target.keys.add(id);
        continue;
      }
      const entry: Latest | History =
        ch.kind === 'latest'
          ? { kind: 'latest', table: ch.table, upserts: [...ch.upserts], tombstones: [...ch.tombstones], keyOnlyDeletes: [...ch.keyOnlyDeletes] }
          : { kind: 'history', table: ch.table, keys: [...ch.keys] };
      out.push(entry);
      open.set(ch.table.name, { entry, keys: new Set(ids) });
    }
  }
  return out;
}

function keyIdsOf(ch: TableChanges): string[] {
  const pk = ch.table.primaryKey;
  const one = (v: SinkValue | undefined) => (v instanceof Date ? v.toISOString() : String(v));
  const id = pk.length === 1 ? (r: Readonly<Record<string, SinkValue>>) => one(r[pk[0]!]) : (r: Readonly<Record<string, SinkValue>>) => JSON.stringify(pk.map((k) => r[k] ?? null));
  if (ch.kind === 'history') return ch.keys.map((k) => id(k.key));
  const out: string[] = [];
  for (const rows of [ch.upserts, ch.tombstones, ch.keyOnlyDeletes]) for (const r of rows) out.push(id(r));
  return out;
}

/** `($1,$2,…),($n,…)` placeholders for `rows` rows of `width` values. */
export function valuesPlaceholders(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const ps: string[] = [];
    for (let c = 1; c <= width; c++) ps.push(`$${r * width + c}`);
    out.push(`(${ps.join(',')})`);
  }
  return out.join(',');
}

/**
 * Marks stored rows deleted (keeping their values) from key-only deletes: one UPDATE … FROM (VALUES …) per
 * chunk, in the dialect both destinations share. `param(i, type)` renders a typed placeholder.
 */
export async function markDeleted(
  qualified: string,
  table: SinkTable,
  deletes: ReadonlyArray<Readonly<Record<string, SinkValue>>>,
  param: (i: number, type: SqlType) => string,
  run: (sql: string, params: unknown[]) => Promise<void>,
): Promise<void> {
  const keyCols = table.primaryKey.map((k) => table.columns.find((c) => c.name === k) ?? { name: k, type: 'text' as const });
  const names = keyCols.map((c) => quoteIdent(c.name));
  for (const rows of chunkRows(deletes, keyCols.length + 3)) {
    const params: unknown[] = [];
    const tuples = rows.map((r) => {
      const ps = keyCols.map((c) => (params.push(bindValue(r[c.name] ?? null)), param(params.length, c.type)));
      for (const [v, type] of [[r._op ?? 'd', 'text'], [r._source_ts ?? null, 'timestamp'], [r._synced ?? null, 'timestamp']] as const) {
        params.push(bindValue(v as SinkValue));
        ps.push(param(params.length, type));
      }
      return `(${ps.join(',')})`;
    });
    const m = (n: string) => ident(table, n);
    await run(
      `UPDATE ${qualified} AS h SET ${m('_deleted')} = true, ${m('_op')} = s.op_, ${m('_source_ts')} = s.ts_, ${m('_synced')} = s.synced_ ` +
        `FROM (VALUES ${tuples.join(',')}) AS s(${[...names, 'op_', 'ts_', 'synced_'].join(',')}) ` +
        `WHERE ${keyCols.map((c) => `h.${ident(table, c.name)} = s.${quoteIdent(c.name)}`).join(' AND ')}`,
      params,
    );
  }
}

function bindValue(v: SinkValue): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

/** Rows per statement: keeps the parameter count well under the drivers' limits (PostgreSQL: 65535). */
export function chunkRows<T>(rows: readonly T[], width: number): T[][] {
  const per = Math.max(1, Math.floor(30_000 / Math.max(1, width)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += per) out.push(rows.slice(i, i + per));
  return out;
}

/** What the history merge needs from a dialect: typed placeholders, a query, a statement, a row upsert. */
export interface HistoryDialect {
  /** A placeholder for parameter `i` (1-based) of `type`. */
  param(i: number, type: SqlType): string;
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  run(sql: string, params: unknown[]): Promise<void>;
  /** Inserts complete rows, replacing stored rows of the same (key, `_start`). */
  upsertRows(rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<void>;
  /**
   * Fills a temporary table named after `label` with `rows` of `cols` (an Appender, COPY) and returns its quoted
   * name: the lookup and the chain updates then join it instead of a VALUES list with a parameter per value.
   */
  stage?(label: string, cols: readonly SinkColumn[], rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<string>;
}

/**
 * Applies a batch's history: reads the stored versions it can affect (per key, from the last one started
 * before the batch's earliest time on), merges (src/sink/history.ts), then writes the changed chain columns of stored
 * versions and the batch's versions. Runs inside the apply transaction, after the offsets compare-and-set,
 * so no other sink changes these keys meanwhile (a key lives in one partition).
 */
export async function applyHistory(qualified: string, ch: HistoryChanges, d: HistoryDialect): Promise<void> {
  if (ch.keys.length === 0) return;
  const keyCols = ch.table.primaryKey.map((k) => ch.table.columns.find((c) => c.name === k) ?? { name: k, type: 'text' as const });
  const names = keyCols.map((c) => quoteIdent(c.name));
  const m = (n: string) => ident(ch.table, n);
  // `a` is the table, `b` the VALUES list (its columns carry the field names).
  const keyMatch = (a: string, b: string) => keyCols.map((c) => `${a}.${m(c.name)} = ${b}.${quoteIdent(c.name)}`).join(' AND ');
  const idOf = (row: Readonly<Record<string, unknown>>) => keyCols.map((c) => String(row[c.name])).join('\u0000');

  // Stored versions the batch can affect: per key, from the last one started before its earliest time on.
  // One join of the stored rows with the batch's keys and a window over each key's rows (not a correlated
  // subquery per key: DuckDB runs that as a second join, PostgreSQL as a probe per key).
  const lookup = (source: string) =>
    `SELECT ${names.join(', ')}, _start, _end, _active, _deleted FROM (` +
    `SELECT ${keyCols.map((c) => `h.${m(c.name)} AS ${quoteIdent(c.name)}`).join(', ')}, h.${m('_start')} AS _start, h.${m('_end')} AS _end, ` +
    `h.${m('_active')} AS _active, h.${m('_deleted')} AS _deleted, s.from_ AS from_, ` +
    `max(CASE WHEN h.${m('_start')} < s.from_ THEN h.${m('_start')} END) OVER (PARTITION BY ${keyCols.map((c) => `h.${m(c.name)}`).join(', ')}) AS lo_ ` +
    `FROM ${qualified} AS h JOIN ${source} ON ${keyMatch('h', 's')}) AS x WHERE _start >= COALESCE(lo_, from_)`;
  const found: Array<Record<string, unknown>> = [];
  if (d.stage) {
    const keys = ch.keys.map((k) => ({ ...k.key, from_: new Date(earliestTime(k)) }));
    const staged = await d.stage(`${ch.table.name}_keys`, [...keyCols, { name: 'from_', type: 'timestamp' }], keys);
    found.push(...(await d.query(lookup(`${staged} AS s`), [])));
  } else {
    for (const keys of chunkRows(ch.keys, keyCols.length + 1)) {
      const params: unknown[] = [];
      const tuples = keys.map((k) => {
        const ps = keyCols.map((c) => (params.push(k.key[c.name] ?? null), d.param(params.length, c.type)));
        params.push(new Date(earliestTime(k)).toISOString());
        return `(${[...ps, d.param(params.length, 'timestamp')].join(',')})`;
      });
      found.push(...(await d.query(lookup(`(VALUES ${tuples.join(',')}) AS s(${[...names, 'from_'].join(',')})`), params)));
    }
  }
  const stored = new Map<string, StoredVersion[]>();
  for (const r of found) {
    const id = idOf(r);
    const list = stored.get(id) ?? [];
    list.push({ start: (r._start as Date).getTime(), end: (r._end as Date).getTime(), active: r._active === true, deleted: r._deleted === true });
    stored.set(id, list);
  }

  const rows: Array<Record<string, SinkValue>> = [];
  const updates: Array<ChainUpdate & { key: Readonly<Record<string, SinkValue>> }> = [];
  for (const k of ch.keys) {
    const plan = planKeyHistory(stored.get(idOf(k.key)) ?? [], k);
    for (const r of plan.rows) rows.push(r);
    for (const u of plan.updates) updates.push({ ...u, key: k.key });
  }
  const update = (source: string) =>
    `UPDATE ${qualified} AS h SET ${m('_end')} = s.end_, ${m('_active')} = s.active_, ${m('_deleted')} = s.deleted_ FROM ${source} ` +
    `WHERE ${keyMatch('h', 's')} AND h.${m('_start')} = s.start_`;
  if (d.stage && updates.length > 0) {
    const cols: SinkColumn[] = [...keyCols, { name: 'start_', type: 'timestamp' }, { name: 'end_', type: 'timestamp' }, { name: 'active_', type: 'boolean' }, { name: 'deleted_', type: 'boolean' }];
    const staged = await d.stage(
      `${ch.table.name}_chain`,
      cols,
      updates.map((u) => ({ ...u.key, start_: new Date(u.start), end_: new Date(u.end), active_: u.active, deleted_: u.deleted })),
    );
    await d.run(update(`${staged} AS s`), []);
  } else {
    for (const chunk of chunkRows(updates, keyCols.length + 4)) {
      const params: unknown[] = [];
      const tuples = chunk.map((u) => {
        const ps = keyCols.map((c) => (params.push(u.key[c.name] ?? null), d.param(params.length, c.type)));
        for (const [v, type] of [[new Date(u.start).toISOString(), 'timestamp'], [new Date(u.end).toISOString(), 'timestamp'], [u.active, 'boolean'], [u.deleted, 'boolean']] as const) {
          params.push(v);
          ps.push(d.param(params.length, type));
        }
        return `(${ps.join(',')})`;
      });
      await d.run(update(`(VALUES ${tuples.join(',')}) AS s(${[...names, 'start_', 'end_', 'active_', 'deleted_'].join(',')})`), params);
    }
  }
  if (rows.length > 0) await d.upsertRows(rows);
}
