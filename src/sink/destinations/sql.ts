import { HISTORY_COLUMNS, META_COLUMNS, type SinkColumn, type SinkTable, type SqlType } from '../model.ts';

/** SQL shared by the destinations (both speak a PostgreSQL-like dialect). */
export const OFFSETS_TABLE = '_pipedrive_cdc_offsets';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function allColumns(table: SinkTable): SinkColumn[] {
  return table.kind === 'history' ? [...table.columns, ...META_COLUMNS, ...HISTORY_COLUMNS] : [...table.columns, ...META_COLUMNS];
}

/** The table's primary key: the topic key, plus `_start` for history tables. */
export function tableKey(table: SinkTable): string[] {
  return table.kind === 'history' ? [...table.primaryKey, '_start'] : [...table.primaryKey];
}

export function createTableSql(table: SinkTable, typeName: (t: SqlType) => string): string {
  const cols = allColumns(table).map((c) => `${quoteIdent(c.name)} ${typeName(c.type)}`);
  const pk = tableKey(table).map(quoteIdent).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table.name)} (${cols.join(', ')}, PRIMARY KEY (${pk}))`;
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

/** Rows per statement: keeps the parameter count well under the drivers' limits (PostgreSQL: 65535). */
export function chunkRows<T>(rows: readonly T[], width: number): T[][] {
  const per = Math.max(1, Math.floor(30_000 / Math.max(1, width)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += per) out.push(rows.slice(i, i + per));
  return out;
}

/**
 * The history statements both dialects share (see HistoryChanges). `param(i, type)` renders a typed
 * placeholder; `run` executes with parameters.
 */
export async function applyHistorySql(
  qualified: string,
  table: SinkTable,
  ch: { replaceFrom: ReadonlyArray<{ key: Readonly<Record<string, unknown>>; start: Date }>; closeStored: ReadonlyArray<{ key: Readonly<Record<string, unknown>>; before: Date; end: Date; deleted: boolean }> },
  param: (i: number, type: SqlType) => string,
  run: (sql: string, params: unknown[]) => Promise<void>,
): Promise<void> {
  const keyCols = table.primaryKey.map((k) => table.columns.find((c) => c.name === k) ?? { name: k, type: 'text' as const });
  const keyMatch = (a: string, b: string) => keyCols.map((c) => `${a}.${quoteIdent(c.name)} = ${b}.${quoteIdent(c.name)}`).join(' AND ');
  const names = keyCols.map((c) => quoteIdent(c.name));
  for (const rows of chunkRows(ch.replaceFrom, keyCols.length + 1)) {
    const params: unknown[] = [];
    const tuples = rows.map((r) => {
      const ps = keyCols.map((c) => (params.push(r.key[c.name] ?? null), param(params.length, c.type)));
      params.push(r.start.toISOString());
      return `(${[...ps, param(params.length, 'timestamp')].join(',')})`;
    });
    await run(`DELETE FROM ${qualified} AS h USING (VALUES ${tuples.join(',')}) AS s(${[...names, 'start_'].join(',')}) WHERE ${keyMatch('h', 's')} AND h._start >= s.start_`, params);
  }
  for (const rows of chunkRows(ch.closeStored, keyCols.length + 3)) {
    const params: unknown[] = [];
    const tuples = rows.map((r) => {
      const ps = keyCols.map((c) => (params.push(r.key[c.name] ?? null), param(params.length, c.type)));
      params.push(r.before.toISOString());
      ps.push(param(params.length, 'timestamp'));
      params.push(r.end.toISOString());
      ps.push(param(params.length, 'timestamp'));
      params.push(r.deleted);
      ps.push(param(params.length, 'boolean'));
      return `(${ps.join(',')})`;
    });
    await run(
      `UPDATE ${qualified} AS h SET _end = s.end_, _active = false, _deleted = s.deleted_ ` +
        `FROM (VALUES ${tuples.join(',')}) AS s(${[...names, 'before_', 'end_', 'deleted_'].join(',')}) ` +
        `WHERE ${keyMatch('h', 's')} AND h._start = (SELECT max(h2._start) FROM ${qualified} AS h2 WHERE ${keyMatch('h2', 's')} AND h2._start < s.before_)`,
      params,
    );
  }
}
