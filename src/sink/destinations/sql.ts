import { META_COLUMNS, type SinkColumn, type SinkTable, type SqlType } from '../model.ts';

/** SQL shared by the destinations (both speak a PostgreSQL-like dialect). */
export const OFFSETS_TABLE = '_pipedrive_cdc_offsets';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function allColumns(table: SinkTable): SinkColumn[] {
  return [...table.columns, ...META_COLUMNS];
}

export function createTableSql(table: SinkTable, typeName: (t: SqlType) => string): string {
  const cols = allColumns(table).map((c) => `${quoteIdent(c.name)} ${typeName(c.type)}`);
  const pk = table.primaryKey.map(quoteIdent).join(', ');
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
