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
