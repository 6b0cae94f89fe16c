import type { ChangelogSpec, TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { listAll } from '../pipedrive/lists.ts';
import { parseRow, parseTimestamp, type Row } from '../pipedrive/row.ts';
import { Op, type ChangeEvent } from './change.ts';
import type { FieldDef } from './custom-fields.ts';
import { keyOf } from './key-index.ts';

/** One changelog entry as the API gives it (newest first). */
interface Entry {
  readonly fieldKey: string;
  readonly oldValue: string | null;
  readonly newValue: string | null;
  readonly timeMs: number;
  readonly actor: number | null;
  readonly source: string | null;
}

const HASH_KEY = /^[0-9a-f]{40}$/;

/**
 * Rebuilds the versions of a row that polling did not see — those between the last published version and
 * the current one (all of them on the first sync) — from the row's field changelog: starting at the current
 * API object, it undoes the changes of each second, newest first. Changes within one second collapse into
 * one version, as Pipedrive's whole-second timestamps allow nothing finer. Also returns the field change
 * rows (`deal_change`) after the last published version.
 */
export async function rebuildVersions(
  args: {
    spec: TableSpec;
    changelog: ChangelogSpec;
    changeTable: TableSpec;
    client: PipedriveClient;
    customDefs: readonly FieldDef[];
    /** The newest version (as published now): its API object and parsed row. */
    raw: unknown;
    row: Row;
    /** Versions at or before this time were published already (null: none were). */
    afterMs: number | null;
    /** The op for rebuilt versions (`r` during the first sync). */
    op: Op;
  },
  signal?: AbortSignal,
): Promise<{ versions: ChangeEvent[]; changes: ChangeEvent[] }> {
  const { spec, changelog, client, raw, row, afterMs } = args;
  const id = row[spec.primaryKey[0]!];
  const entries: Entry[] = [];
  for await (const page of listAll(client, { ...changelog.list, forEachParent: undefined, endpoint: changelog.list.endpoint.replace('{id}', encodeURIComponent(String(id))) }, {}, signal)) {
    for (const { item } of page) entries.push(parseEntry(item));
  }
  const current = Number(row[(spec.sync as { cursorField?: string }).cursorField ?? 'update_time']);
  // The changelog is read after the row: changes newer than the row's version belong to a later version,
  // read (and rebuilt from) by a later poll. Leaving them out here is what keeps each change once.
  const upToNow = entries.filter((e) => e.timeMs <= current);
  const fresh = upToNow.filter((e) => afterMs === null || e.timeMs > afterMs);
  const changes = changeRows(args.changeTable, id, fresh);

  const seconds = [...new Set(upToNow.map((e) => e.timeMs))].sort((a, b) => b - a);
  const versions: ChangeEvent[] = [];
  let state = structuredClone(raw) as Record<string, unknown>;
  for (let i = 0; i < seconds.length; i++) {
    const undoneAt = seconds[i]!;
    for (const e of upToNow.filter((x) => x.timeMs === undoneAt)) undo(state, e, spec, changelog, args.customDefs);
    // After undoing second i, the object is the version made at the previous change (or at creation).
    const createdMs = spec.createdField ? row[spec.createdField] : null;
    const madeAt = seconds[i + 1] ?? (typeof createdMs === 'number' ? createdMs : null);
    if (madeAt === null || (afterMs !== null && madeAt <= afterMs) || madeAt >= current) break;
    state = { ...state, update_time: new Date(madeAt).toISOString().replace('.000Z', 'Z') };
    const versionRow = parseRow(spec, state);
    const op = args.op === Op.read ? Op.read : madeAt === createdMs ? Op.create : Op.update;
    versions.unshift({ table: spec.name, key: keyOf(spec, versionRow), row: versionRow, op, sourceTsMs: madeAt });
    state = structuredClone(state);
  }
  return { versions, changes };
}

function parseEntry(item: unknown): Entry {
  const o = (item ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
  return {
    fieldKey: String(o.field_key),
    oldValue: text(o.old_value),
    newValue: text(o.new_value),
    timeMs: parseTimestamp(o.time),
    actor: typeof o.actor_user_id === 'number' ? o.actor_user_id : null,
    source: typeof o.change_source === 'string' ? o.change_source : null,
  };
}

/** Field change rows; several changes of one field in one second collapse (oldest old, newest new value). */
function changeRows(table: TableSpec, id: unknown, entries: readonly Entry[]): ChangeEvent[] {
  const byKey = new Map<string, { first: Entry; last: Entry }>();
  for (const e of entries) {
    const k = `${e.timeMs}|${e.fieldKey}`;
    const seen = byKey.get(k);
    // Entries come newest first: the first seen holds the newest value, the last the oldest.
    byKey.set(k, seen ? { first: seen.first, last: e } : { first: e, last: e });
  }
  return [...byKey.values()]
    .sort((a, b) => a.first.timeMs - b.first.timeMs || a.first.fieldKey.localeCompare(b.first.fieldKey))
    .map(({ first, last }) => {
      const row: Row = {
        deal_id: Number(id),
        time: first.timeMs,
        field_key: first.fieldKey,
        old_value: last.oldValue,
        new_value: first.newValue,
        actor_user_id: first.actor,
        change_source: first.source,
      };
      return { table: table.name, key: keyOf(table, row), row, op: Op.create, sourceTsMs: first.timeMs };
    });
}

/** Puts a change's old value back into the API object, in the object's own (v2) shape. */
function undo(state: Record<string, unknown>, e: Entry, spec: TableSpec, changelog: ChangelogSpec, defs: readonly FieldDef[]): void {
  if (HASH_KEY.test(e.fieldKey)) {
    const custom = { ...((state.custom_fields as Record<string, unknown> | null) ?? {}) };
    const def = defs.find((d) => d.key === e.fieldKey);
    custom[e.fieldKey] = customValue(e.oldValue, def?.fieldType ?? 'varchar', custom[e.fieldKey]);
    state.custom_fields = custom;
    return;
  }
  const field = changelog.fieldKeys?.[e.fieldKey] ?? e.fieldKey;
  const col = spec.columns.find((c) => (c.path ?? c.name) === field);
  if (!col) return; // a field the table does not publish
  state[field] = builtInValue(e.oldValue, col.type);
}

function builtInValue(text: string | null, type: string): unknown {
  if (text === null || text === '') return type === 'json' ? [] : null;
  switch (type) {
    case 'long':
    case 'double':
      return Number(text);
    case 'boolean':
      return text === 'true' || text === '1';
    case 'json':
      return text.startsWith('[') || text.startsWith('{') ? JSON.parse(text) : text.split(',').map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    default:
      return text;
  }
}

/** A changelog text value in the v2 nested shape of its field type (structured parts not in the log keep their current value). */
function customValue(text: string | null, fieldType: string, current: unknown): unknown {
  if (text === null || text === '') return null;
  const cur = current && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
  switch (fieldType) {
    case 'int':
    case 'double':
    case 'enum':
    case 'user':
    case 'org':
    case 'people':
    case 'deal':
    case 'stage':
    case 'pipeline':
    case 'product':
    case 'project':
      return Number(text);
    case 'set':
      return text.split(',').map(Number);
    case 'monetary':
      return { ...cur, value: Number(text) };
    case 'daterange':
    case 'timerange':
    case 'time':
    case 'address':
      return { ...cur, value: text };
    default:
      return text;
  }
}
