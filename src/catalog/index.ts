import type { TableSpec } from './types.ts';
import { deal } from './tables/deal.ts';

/** Every table the connector knows, by name. */
export const catalog: ReadonlyMap<string, TableSpec> = new Map([deal].map((t) => [t.name, t]));

export function tableByName(name: string): TableSpec {
  const spec = catalog.get(name);
  if (!spec) {
    throw new Error(`unknown table "${name}"; known tables: ${[...catalog.keys()].join(', ')}`);
  }
  return spec;
}

export type { TableSpec, ColumnSpec, ColumnType } from './types.ts';
