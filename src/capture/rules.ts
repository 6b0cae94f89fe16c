/**
 * Sync rules: what of each table may leave the producer. Applied to every batch between capture and
 * publish, so a blocked value, the clear text of a hashed one or a filtered row never reaches a Kafka
 * record. The engine keeps working on the clear rows in memory (cursors, key indexes, id scans, re-import
 * diffs): only what is published is ruled.
 *
 * - Blocked tables are not synced; blocked columns are left out of the published schema (a field removed
 *   from an all-optional value schema: compatible under BACKWARD) and of every record.
 * - A hashed column `c` is published as `c_sha256` (a string: hex HMAC-SHA-256 of the value's text keyed
 *   with the connector's secret salt; null stays null). The new name is what keeps an already-synced
 *   column compatible: the clear field is dropped and an optional string field added, where a change of
 *   type under the old name would be refused. The same value hashes the same in every table and every run,
 *   so `person.id_sha256` joins `deal.person_id_sha256`. A hashed primary-key column hashes the record key
 *   too; the clear key then travels sealed (AES-256-GCM under a key derived from the salt) in the header
 *   `pipedrive-cdc.key`, so a restarted producer rebuilds its key indexes (id scans, child deletes).
 * - A row filter decides which rows are published; a row that no longer matches while its key is live in
 *   the topic becomes a delete carrying only its key (the sink keeps its last values, marked deleted), so
 *   the topic is always "the source, filtered".
 *
 * Tables derived from another follow it: a history table (deal_history) has its table's rules; a child
 * table (person_email) has its own, plus the parent's hashing of the columns that hold the parent's key,
 * and is published only for parent versions that passed the parent's filter; the deal change log
 * (deal_change) drops the changes of blocked deal columns and hashes the values of hashed ones.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { catalog } from '../catalog/index.ts';
import type { ColumnSpec, ColumnType, TableSpec } from '../catalog/types.ts';
import type { Row, Value } from '../pipedrive/row.ts';
import { Op, type ChangeBatch, type ChangeEvent } from './change.ts';
import { keyString, parentLink } from './key-index.ts';

export type Scalar = string | number | boolean;

/**
 * A row condition. Comparisons with a null value are false (as in SQL); `isNull` tests for it. Operands of
 * timestamp columns are ISO 8601 texts or epoch ms, of date columns `YYYY-MM-DD`.
 */
export type RowFilter =
  | { readonly column: string; readonly eq: Scalar }
  | { readonly column: string; readonly ne: Scalar }
  | { readonly column: string; readonly in: readonly Scalar[] }
  | { readonly column: string; readonly gt?: Scalar; readonly gte?: Scalar; readonly lt?: Scalar; readonly lte?: Scalar }
  | { readonly column: string; readonly isNull: boolean }
  | { readonly and: readonly RowFilter[] }
  | { readonly or: readonly RowFilter[] };

export interface TableRules {
  readonly block?: readonly string[];
  readonly hash?: readonly string[];
  readonly filter?: RowFilter;
}

/** What happens to tables and custom-field columns that appear after a connector's first sync. */
export type SchemaChangePolicy = 'allow-all' | 'allow-columns' | 'block-all';

export interface SyncRulesSpec {
  readonly blockedTables?: readonly string[];
  readonly tables?: Readonly<Record<string, TableRules>>;
  readonly schemaChanges?: SchemaChangePolicy;
  /** Tables (`table`) and columns (`table.column`) enabled although the policy would block them. */
  readonly enable?: readonly string[];
}

/** Suffix of a hashed column's published name. */
export const HASHED_SUFFIX = '_sha256';

/** A rule that cannot work (unknown table or column, a key column blocked, hashing without a salt). */
export class SyncRulesError extends Error {
  override name = 'SyncRulesError';
}

/** The published form of one event, and the clear one the engine's key indexes follow. */
export interface RuledBatch {
  readonly published: ChangeBatch;
  /** The events as published, in clear (filter deletes as key-only deletes): what key indexes apply. */
  readonly kept: readonly ChangeEvent[];
}

/** Whether a table's key is live in its topic (its key index), before the batch. */
export type Liveness = (table: string, key: Row) => boolean;

interface Resolved {
  readonly block: ReadonlySet<string>;
  readonly hash: ReadonlySet<string>;
  readonly filter?: RowFilter;
  /** The table whose filter and liveness rule this one (itself, or a history table's table). */
  readonly filteredAs: string;
  /** A child table: its parent and the columns holding the parent's fields. */
  readonly parent?: { readonly table: string; readonly link: ReadonlyArray<{ column: string; parentField: string }> };
}

export class SyncRules {
  private readonly resolved = new Map<string, Resolved>();
  // ECMAScript private fields: no JSON.stringify, inspect or spread of the rules shows the secret.
  readonly #salt: string | undefined;
  readonly #sealKey: Buffer | undefined;

  constructor(
    readonly spec: SyncRulesSpec,
    salt: string | undefined,
  ) {
    this.#salt = salt;
    for (const t of [...(spec.blockedTables ?? []), ...Object.keys(spec.tables ?? {})]) {
      if (!catalog.has(t)) throw new SyncRulesError(`sync rules: unknown table "${t}"`);
    }
    for (const [name, r] of Object.entries(spec.tables ?? {})) check(catalog.get(name)!, r);
    if (!salt && Object.values(spec.tables ?? {}).some((r) => (r.hash ?? []).length > 0)) {
      throw new SyncRulesError('HASH_SALT: required when columns are hashed — a long random secret of this connector (HASH_SALT_FILE naming a file that holds it); keep it: another salt changes every hash');
    }
    this.#sealKey = salt ? Buffer.from(hkdfSync('sha256', salt, Buffer.alloc(0), 'pipedrive-cdc sealed key', 32)) : undefined;
  }

  /** Other rules under the same salt (rules changed through the admin API, src/connector-settings.ts). */
  withSpec(spec: SyncRulesSpec): SyncRules {
    return new SyncRules(spec, this.#salt);
  }

  get policy(): SchemaChangePolicy {
    return this.spec.schemaChanges ?? 'allow-all';
  }

  /** True when the table (or the table it derives from) is blocked. */
  tableBlocked(name: string): boolean {
    return (this.spec.blockedTables ?? []).includes(name);
  }

  enabled(what: string): boolean {
    return (this.spec.enable ?? []).includes(what);
  }

  /** Tables whose rows a filter decides on: their key indexes say which keys are live. */
  filtered(name: string): boolean {
    const r = this.rulesOf(name);
    return r.filter !== undefined || (r.parent !== undefined && this.filtered(r.parent.table));
  }

  /**
   * Tables whose own filter needs their key index (the live keys of their topic). Children have one
   * anyway; a history table asks its table's.
   */
  needsKeyIndex(name: string): boolean {
    const r = this.rulesOf(name);
    return r.filter !== undefined && r.filteredAs === name;
  }

  /** The table as published: blocked columns left out, hashed ones renamed `<name>_sha256` and typed string. */
  publishedSpec(spec: TableSpec, extraBlocked: ReadonlySet<string> = new Set()): TableSpec {
    const r = this.rulesOf(spec.name);
    if (r.block.size === 0 && r.hash.size === 0 && extraBlocked.size === 0) return spec;
    const columns: ColumnSpec[] = [];
    for (const c of spec.columns) {
      if (r.block.has(c.name) || extraBlocked.has(c.name)) continue;
      columns.push(r.hash.has(c.name) ? { name: c.name + HASHED_SUFFIX, type: 'string' } : { name: c.name, type: c.type });
    }
    const names = new Set<string>();
    for (const c of columns) {
      if (names.has(c.name)) throw new SyncRulesError(`sync rules: table ${spec.name}: hashed column ${c.name.slice(0, -HASHED_SUFFIX.length)} would be published as ${c.name}, a name the table already has`);
      names.add(c.name);
    }
    return { ...spec, columns, primaryKey: spec.primaryKey.map((k) => (r.hash.has(k) ? k + HASHED_SUFFIX : k)) };
  }

  /** Each column of the table and what the rules make of it (the admin API's view). */
  describeColumns(spec: TableSpec, policyBlocked: ReadonlySet<string> = new Set()): Array<{ name: string; type: string; sync: 'synced' | 'hashed' | 'blocked' | 'blocked-by-policy'; publishedAs: string | null }> {
    const r = this.rulesOf(spec.name);
    return spec.columns.map((c) => {
      if (r.block.has(c.name)) return { name: c.name, type: c.type, sync: 'blocked', publishedAs: null };
      if (policyBlocked.has(c.name)) return { name: c.name, type: c.type, sync: 'blocked-by-policy', publishedAs: null };
      if (r.hash.has(c.name)) return { name: c.name, type: c.type, sync: 'hashed', publishedAs: c.name + HASHED_SUFFIX };
      return { name: c.name, type: c.type, sync: 'synced', publishedAs: c.name };
    });
  }

  /** True when the published key of the table holds a hashed column (its records carry the sealed key). */
  sealsKey(table: string): boolean {
    const r = this.rulesOf(table);
    return catalog.get(table)?.primaryKey.some((k) => r.hash.has(k)) ?? false;
  }

  /**
   * The batch as it may be published. `live` answers for the keys published before the batch; `blocked`
   * names further columns left out per table (blocked by the schema-change policy); `customNames` maps
   * custom field keys to column names (the change log names fields by key).
   */
  apply(batch: ChangeBatch, live: Liveness, extra: { blocked?: (table: string) => ReadonlySet<string>; customNames?: Readonly<Record<string, string>> } = {}): RuledBatch {
    const published: ChangeEvent[] = [];
    const kept: ChangeEvent[] = [];
    /** Liveness within the batch, by `table|key`: starts from the index, follows what the batch publishes. */
    const liveNow = new Map<string, boolean>();
    /** Parent versions in this batch, by `table|key`: whether they passed their filter. */
    const parentPassed = new Map<string, boolean>();
    for (const ev of batch.events) {
      if (this.tableBlocked(ev.table)) continue;
      const r = this.rulesOf(ev.table);
      const blocked = extra.blocked?.(ev.table) ?? new Set<string>();
      if (catalog.get(ev.table)?.sync.kind === 'changelog') {
        const change = this.changeRow(ev, extra.customNames ?? {}, extra.blocked);
        // The changes of a deal outside its table's filter are not published either.
        if (change && parentPassed.get(`${ofTable(ev.table)}|${JSON.stringify([ev.row.deal_id ?? null])}`) !== false) {
          published.push({ ...ev, key: this.ruleRow(ev.table, ev.key, blocked), row: change });
          kept.push(ev);
        }
        continue;
      }
      if (!this.filtered(ev.table)) {
        published.push(this.publishedEvent(ev, blocked));
        kept.push(ev);
        continue;
      }
      const spec = catalog.get(ev.table)!;
      const k = `${ev.table}|${keyString(spec, ev.key)}`;
      const wasLive = liveNow.get(k) ?? live(r.filteredAs, ev.key);
      const rowMatches = this.passes(ev, r, parentPassed);
      if (ev.op !== Op.delete) parentPassed.set(`${ev.table}|${JSON.stringify(spec.primaryKey.map((c) => ev.key[c] ?? null))}`, rowMatches);
      if (ev.op !== Op.delete && rowMatches) {
        published.push(this.publishedEvent(ev, blocked));
        kept.push(ev);
        liveNow.set(k, true);
      } else if (wasLive && rowMatches) {
        // Deleted in Pipedrive with values the filter lets through: the delete as usual.
        published.push(this.publishedEvent(ev, blocked));
        kept.push(ev);
        liveNow.set(k, false);
      } else if (wasLive) {
        // Left the filter: a delete with the key only, the row's values are not published.
        const gone: ChangeEvent = { table: ev.table, key: ev.key, row: ev.key, op: Op.delete, sourceTsMs: ev.sourceTsMs };
        published.push(this.publishedEvent(gone, blocked));
        kept.push(gone);
        liveNow.set(k, false);
      }
    }
    return { published: { ...batch, events: published }, kept };
  }

  /** The clear key of a record from its sealed-key header. */
  unsealKey(sealed: string): Row {
    if (!this.#sealKey) throw new SyncRulesError('a record carries a sealed key, but no HASH_SALT is set: set the salt the topic was written with');
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#sealKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as Row;
    } catch {
      throw new SyncRulesError('a sealed record key does not open with this HASH_SALT: the topic was written with another salt');
    }
  }

  private sealKey(key: Row): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#sealKey!, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(key), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  private publishedEvent(ev: ChangeEvent, blocked: ReadonlySet<string>): ChangeEvent {
    const r = this.rulesOf(ev.table);
    if (r.block.size === 0 && r.hash.size === 0 && blocked.size === 0) return ev;
    const sealed = this.sealsKey(ev.table) ? { sealedKey: this.sealKey(ev.key) } : {};
    return { ...ev, key: this.ruleRow(ev.table, ev.key, blocked), row: this.ruleRow(ev.table, ev.row, blocked), ...sealed };
  }

  /** A row with blocked columns left out and hashed ones replaced by their hash under the new name. */
  private ruleRow(table: string, row: Row, blocked: ReadonlySet<string>): Row {
    const r = this.rulesOf(table);
    const out: Record<string, Value> = {};
    for (const [name, value] of Object.entries(row)) {
      if (r.block.has(name) || blocked.has(name)) continue;
      if (r.hash.has(name)) out[name + HASHED_SUFFIX] = this.hashValue(value, columnType(table, name));
      else out[name] = value;
    }
    return out;
  }

  /** Hex HMAC-SHA-256 of the value's text under the salt (see `valueText`); null stays null. */
  hashValue(value: Value, type: ColumnType | undefined): string | null {
    if (value === null) return null;
    return createHmac('sha256', this.#salt!).update(valueText(value, type)).digest('hex');
  }

  /** A change-log row: dropped for a blocked column, its values hashed for a hashed one. */
  private changeRow(ev: ChangeEvent, customNames: Readonly<Record<string, string>>, extraBlocked: ((table: string) => ReadonlySet<string>) | undefined): Row | undefined {
    const of = ofTable(ev.table);
    const r = this.rulesOf(of);
    const fieldKeys = catalog.get(of)?.changelog?.fieldKeys ?? {};
    const key = String(ev.row.field_key ?? '');
    const column = customNames[key] ?? fieldKeys[key] ?? key;
    if (r.block.has(column) || extraBlocked?.(of).has(column)) return undefined;
    if (!r.hash.has(column)) return ev.row;
    return { ...ev.row, old_value: this.hashValue(ev.row.old_value ?? null, 'string'), new_value: this.hashValue(ev.row.new_value ?? null, 'string') };
  }

  /** The row matches its filter, and a child's parent version in this batch (if any) passed the parent's. */
  private passes(ev: ChangeEvent, r: Resolved, parentPassed: ReadonlyMap<string, boolean>): boolean {
    if (r.filter && !matches(r.filter, ev.row, (c) => columnType(r.filteredAs, c))) return false;
    if (!r.parent) return true;
    const { table, link } = r.parent;
    const parentKey = JSON.stringify(catalog.get(table)!.primaryKey.map((pk) => ev.row[link.find((l) => l.parentField === pk)?.column ?? ''] ?? null));
    return parentPassed.get(`${table}|${parentKey}`) !== false;
  }

  private rulesOf(name: string): Resolved {
    let r = this.resolved.get(name);
    if (r) return r;
    const spec = catalog.get(name);
    const own = this.spec.tables?.[name] ?? {};
    if (spec?.sync.kind === 'history') {
      const base = this.rulesOf(spec.sync.of);
      r = { block: new Set([...base.block, ...(own.block ?? [])]), hash: new Set([...base.hash, ...(own.hash ?? [])]), filter: base.filter, filteredAs: spec.sync.of };
    } else if (spec?.sync.kind === 'child') {
      const parent = this.rulesOf(spec.sync.parent);
      const link = parentLink(spec);
      const inherited = link.filter((l) => parent.hash.has(l.parentField)).map((l) => l.column);
      r = { block: new Set(own.block ?? []), hash: new Set([...(own.hash ?? []), ...inherited]), filter: own.filter, filteredAs: name, parent: { table: spec.sync.parent, link } };
    } else {
      r = { block: new Set(own.block ?? []), hash: new Set(own.hash ?? []), filter: own.filter, filteredAs: name };
    }
    this.resolved.set(name, r);
    return r;
  }
}

function ofTable(table: string): string {
  const spec = catalog.get(table)!;
  return 'of' in spec.sync ? spec.sync.of : table;
}

function columnType(table: string, column: string): ColumnType | undefined {
  return catalog.get(table)?.columns.find((c) => c.name === column)?.type;
}

/**
 * The text a value is hashed as: strings as they are, numbers in JavaScript's decimal form (ids: `42`),
 * booleans `true`/`false`, timestamps ISO 8601 UTC with milliseconds, dates `YYYY-MM-DD`.
 */
export function valueText(value: Exclude<Value, null>, type: ColumnType | undefined): string {
  if (type === 'timestamp' && typeof value === 'number') return new Date(value).toISOString();
  if (type === 'date' && typeof value === 'number') return new Date(value * 86_400_000).toISOString().slice(0, 10);
  return String(value);
}

/** Checks a table's rules against its declared columns (custom-field columns are known only at run time). */
function check(spec: TableSpec, r: TableRules): void {
  const declared = new Set(spec.columns.map((c) => c.name));
  const known = (what: string, column: string) => {
    if (!declared.has(column) && !spec.customFields) throw new SyncRulesError(`sync rules: table ${spec.name}: ${what} column "${column}" is not a column of the table; columns: ${[...declared].join(', ')}`);
  };
  for (const c of r.block ?? []) {
    known('blocked', c);
    if (spec.primaryKey.includes(c)) throw new SyncRulesError(`sync rules: table ${spec.name}: "${c}" is part of the primary key and cannot be blocked; hash it, or block the table`);
  }
  for (const c of r.hash ?? []) {
    known('hashed', c);
    if ((r.block ?? []).includes(c)) throw new SyncRulesError(`sync rules: table ${spec.name}: "${c}" is both blocked and hashed; choose one`);
  }
  const walk = (f: RowFilter): void => {
    if ('and' in f) return f.and.forEach(walk);
    if ('or' in f) return f.or.forEach(walk);
    known('filter', f.column);
  };
  if (r.filter) walk(r.filter);
}

/** Whether a row satisfies a filter (`typeOf` gives a column's type, for timestamp and date operands). */
export function matches(f: RowFilter, row: Row, typeOf: (column: string) => ColumnType | undefined = () => undefined): boolean {
  if ('and' in f) return f.and.every((g) => matches(g, row, typeOf));
  if ('or' in f) return f.or.some((g) => matches(g, row, typeOf));
  const v = row[f.column] ?? null;
  if ('isNull' in f) return (v === null) === f.isNull;
  if (v === null) return false;
  const type = typeOf(f.column);
  const op = (x: Scalar) => operand(x, type);
  if ('eq' in f) return v === op(f.eq);
  if ('ne' in f) return v !== op(f.ne);
  if ('in' in f) return f.in.some((x) => v === op(x));
  const lower = f.gt === undefined || v > op(f.gt);
  const lowerEq = f.gte === undefined || v >= op(f.gte);
  const upper = f.lt === undefined || v < op(f.lt);
  const upperEq = f.lte === undefined || v <= op(f.lte);
  return lower && lowerEq && upper && upperEq;
}

/** A filter operand in the row's value form: timestamps epoch ms, dates epoch days. */
function operand(x: Scalar, type: ColumnType | undefined): Scalar {
  if (type === 'timestamp' && typeof x === 'string') return Date.parse(x);
  if (type === 'date' && typeof x === 'string') return Math.round(Date.parse(`${x}T00:00:00Z`) / 86_400_000);
  return x;
}
