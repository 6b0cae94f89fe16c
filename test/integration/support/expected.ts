import { catalog, tableByName } from '../../../src/catalog/index.ts';
import type { ColumnSpec, ListSpec, TableSpec } from '../../../src/catalog/types.ts';
import { isDeletedRow } from '../../../src/capture/emit.ts';
import { keyString } from '../../../src/capture/key-index.ts';
import type { TableOffset } from '../../../src/capture/offset.ts';
import { TableRuntime } from '../../../src/capture/table-runtime.ts';
import type { PipedriveClient } from '../../../src/pipedrive/client.ts';
import { listAll } from '../../../src/pipedrive/lists.ts';
import { parseRow, type Row } from '../../../src/pipedrive/row.ts';

const DAY_MS = 86_400_000;

/** The tables with rows of their own (not child, history or change-log tables). */
export const sourceTables = [...catalog.values()].filter((t) => !['child', 'history', 'changelog'].includes(t.sync.kind));

/** A table's full list: its sync list, or Recents' full list. */
function fullList(spec: TableSpec): ListSpec {
  if (spec.sync.kind === 'recents') return spec.sync.fullList;
  if ('list' in spec.sync) return spec.sync.list;
  throw new Error(`${spec.name} has no list`);
}

/**
 * What the local Pipedrive holds now, read through its API and typed by the catalog (custom columns by the
 * names the producer froze, from its offsets): table → key → row, live rows only.
 */
export async function expectedTables(client: PipedriveClient, offsets: ReadonlyMap<string, TableOffset>): Promise<Map<string, { spec: TableSpec; rows: Map<string, Row> }>> {
  const out = new Map<string, { spec: TableSpec; rows: Map<string, Row> }>();
  const put = (spec: TableSpec, row: Row) => {
    if (!out.has(spec.name)) out.set(spec.name, { spec, rows: new Map() });
    out.get(spec.name)!.rows.set(keyString(spec, row), row);
  };
  for (const base of sourceTables) {
    const runtime = new TableRuntime(base, client, { tableOf: tableByName, indexes: new Map() }, offsets.get(base.name) ?? { version: 1, cursorMs: null, emittedAtCursor: {}, snapshotDone: false });
    await runtime.refreshCustomFields();
    const spec = runtime.spec;
    out.set(spec.name, { spec, rows: new Map() });
    for (const c of spec.children ?? []) out.set(c.table, { spec: tableByName(c.table), rows: new Map() });
    let index = 0;
    for await (const page of listAll(client, fullList(base))) {
      for (const { item, parent, wrapper } of page) {
        const row = parseRow(spec, item, { parent, item: wrapper, index: index++ });
        if (isDeletedRow(spec, row)) continue;
        put(spec, row);
        for (const c of spec.children ?? []) {
          const childSpec = tableByName(c.table);
          const elements = c.from.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), item);
          if (Array.isArray(elements)) elements.forEach((el, i) => put(childSpec, parseRow(childSpec, el, { parent: item, index: i })));
        }
      }
    }
  }
  return out;
}

/** One comparable form of a value, whether parsed from the API (epoch ms/days, JSON text) or read from a database. */
export function comparable(col: ColumnSpec, v: unknown, from: 'api' | 'db'): unknown {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'long':
    case 'double':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    case 'timestamp':
      return from === 'api' ? new Date(Number(v)).toISOString() : (v as Date).toISOString();
    case 'date':
      return from === 'api' ? new Date(Number(v) * DAY_MS).toISOString().slice(0, 10) : (v as Date).toISOString().slice(0, 10);
    case 'json':
      return JSON.parse(String(v));
    default:
      return String(v);
  }
}
