import { parseOffset, type TableOffset } from '../capture/offset.ts';

/**
 * The state topic's record format, Kafka Connect's offsets shape: key `["<connector>",{"table":"<t>"}]`,
 * value the table's offset as JSON; a null value resets the table.
 */
export function stateKey(connector: string, table: string): string {
  return JSON.stringify([connector, { table }]);
}

export function stateValue(offset: TableOffset): Buffer {
  return Buffer.from(JSON.stringify(offset), 'utf8');
}

/** The offsets of one connector from the state topic's records (others' records are ignored). */
export function offsetsFromState(connector: string, records: ReadonlyMap<string, Buffer | null>): Map<string, TableOffset> {
  const out = new Map<string, TableOffset>();
  for (const [key, value] of records) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(key);
    } catch {
      continue; // not a record of ours
    }
    if (!Array.isArray(parsed) || parsed[0] !== connector || typeof parsed[1]?.table !== 'string') continue;
    const table: string = parsed[1].table;
    if (value === null) {
      out.delete(table);
      continue;
    }
    out.set(table, parseOffset(table, JSON.parse(value.toString('utf8'))));
  }
  return out;
}

/**
 * The tables a connector knew — synced since its first session, or enabled since — under the key
 * `["<connector>",{"known":"tables"}]`: the schema-change policy's base for telling new tables (capture/rules.ts).
 */
export function knownTablesKey(connector: string): string {
  return JSON.stringify([connector, { known: 'tables' }]);
}

/** The connector's known tables, or undefined before its first session wrote them. */
export function knownTablesFromState(connector: string, records: ReadonlyMap<string, Buffer | null>): string[] | undefined {
  const value = records.get(knownTablesKey(connector));
  if (!value) return undefined;
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) throw new Error(`state topic: the known tables of connector ${connector} are not readable (${value.toString('utf8').slice(0, 120)})`);
  return parsed;
}
