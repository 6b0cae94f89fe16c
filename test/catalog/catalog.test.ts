/**
 * The catalog against its sources of truth: Fivetran's ERD (which tables exist, their primary keys) and
 * Pipedrive's official OpenAPI specs (endpoints, parameters, response fields). Pure data checks, no I/O
 * beyond reading the stored files.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalog } from '../../src/catalog/index.ts';
import { FIVETRAN_COLUMNS, fivetranColumnNames } from '../../src/catalog/fivetran.ts';
import type { ListSpec, TableSpec } from '../../src/catalog/types.ts';
import { FIVETRAN_ERD_PATH, OPENAPI_V1_PATH, OPENAPI_V2_PATH } from '../../spec/paths.ts';

const ERD_PATH = FIVETRAN_ERD_PATH;
const SPEC_PATHS = { v1: OPENAPI_V1_PATH, v2: OPENAPI_V2_PATH } as const;

type Json = Record<string, unknown>;

interface ErdTable {
  readonly name: string;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type?: string; readonly primaryKey?: boolean }>;
}

const erd = (JSON.parse(readFileSync(ERD_PATH, 'utf8')) as { tables: ErdTable[] }).tables;
const specs = { v1: parse(readFileSync(SPEC_PATHS.v1, 'utf8')) as Json, v2: parse(readFileSync(SPEC_PATHS.v2, 'utf8')) as Json };

/** ERD tables the catalog leaves out, and why. */
const NOT_COVERED: Readonly<Record<string, string>> = {
  subscription: 'Pipedrive removed the Subscriptions API (2025-06-27)',
  subscription_payment: 'Pipedrive removed the Subscriptions API (2025-06-27)',
};
/** Tables Fivetran documents that its ERD capture lacks. */
/** Tables beyond the ERD: ACTIVITY_FIELD (Fivetran's docs), the deal field change log, deal participants and followers. */
const EXTRA: readonly string[] = ['activity_field', 'deal_change', 'deal_participant', 'deal_follower'];

/** Deliberate primary-key differences from the ERD (compared as sets): ERD key → ours, and why. */
const KEY_DIFFERENCES: Readonly<Record<string, { erd: string[]; ours: string[]; why: string }>> = {
  deal_field: { erd: ['id'], ours: ['field_code'], why: 'v2 field metadata has no numeric id; field_code is v1 `key`' },
  deal_field_option: { erd: ['id', 'deal_field_id'], ours: ['id', 'deal_field_code'], why: 'the parent deal field is keyed by field_code' },
  deal_field_subfield: { erd: ['key', 'parent_id'], ours: ['field_code', 'parent_field_code'], why: 'v2 subfields are {field_code, …}; parent keyed by field_code' },
  email_to: { erd: ['recipient_id', 'mail_message_id'], ours: ['id', 'mail_message_id'], why: 'API name of the party id is `id` (Fivetran renames it)' },
  email_cc: { erd: ['recipient_id', 'mail_message_id'], ours: ['id', 'mail_message_id'], why: 'API name of the party id is `id` (Fivetran renames it)' },
  email_bcc: { erd: ['recipient_id', 'mail_message_id'], ours: ['id', 'mail_message_id'], why: 'API name of the party id is `id` (Fivetran renames it)' },
  lead_source: { erd: ['id'], ours: ['name'], why: 'the API returns only the (unique) name; Fivetran’s id is synthetic' },
  product_price_history: {
    erd: ['id', 'updated_time'],
    ours: ['product_id', 'currency'],
    why: 'latest state of v2 product prices (one per currency, no price id); history tables come later',
  },
};

/** Where the API spec itself lags the API (see docs/pipedrive-api.md §b9). */
const SPEC_GAPS = {
  /** `updated_since` on v2 products is in SDK 33.7.0, not in the stored spec copy. */
  sinceParamMissing: new Set(['product']),
};

function erdKey(t: ErdTable): string[] {
  return t.columns.filter((c) => c.primaryKey).map((c) => c.name);
}

function sorted(xs: readonly string[]): string[] {
  return [...xs].sort();
}

/** Every list a table declares: sync list or Recents' full list, id-scan lists, and their parent lists. */
function listsOf(spec: TableSpec): ListSpec[] {
  const roots: ListSpec[] = [];
  if ('list' in spec.sync) roots.push(spec.sync.list);
  if (spec.sync.kind === 'recents') roots.push(spec.sync.fullList);
  if (spec.changelog) roots.push(spec.changelog.list);
  for (const d of spec.deletes) if (d.kind === 'id-scan' && d.list) roots.push(d.list);
  if (spec.customFields) roots.push(spec.customFields.fields);
  const all: ListSpec[] = [];
  const walk = (l: ListSpec): void => {
    all.push(l);
    if (l.forEachParent) walk(l.forEachParent.list);
  };
  roots.forEach(walk);
  return all;
}

/** The table's own rows come from this list (Recents tables: the full list has the same objects). */
function rowList(spec: TableSpec): ListSpec | undefined {
  if ('list' in spec.sync) return spec.sync.list;
  if (spec.sync.kind === 'changelog') return catalog.get(spec.sync.of)!.changelog!.list;
  if (spec.sync.kind === 'recents') return spec.sync.fullList;
  return undefined;
}

function splitEndpoint(endpoint: string): { version: 'v1' | 'v2'; path: string } {
  if (endpoint.startsWith('/api/v2/')) return { version: 'v2', path: endpoint.slice('/api/v2'.length) };
  if (endpoint.startsWith('/v1/')) return { version: 'v1', path: endpoint.slice('/v1'.length) };
  throw new Error(`endpoint ${endpoint} is neither /api/v2/… nor /v1/…`);
}

/** The spec's GET operation for an endpoint; `{id}` matches any path template segment. */
function getOperation(endpoint: string): Json | undefined {
  const { version, path } = splitEndpoint(endpoint);
  const want = path.split('/');
  const paths = specs[version]['paths'] as Record<string, Json>;
  for (const [p, item] of Object.entries(paths)) {
    const have = p.split('/');
    if (have.length !== want.length) continue;
    const same = have.every((seg, i) => seg === want[i] || (want[i] === '{id}' && /^\{[^}]+\}$/.test(seg)));
    if (same && item['get']) return item['get'] as Json;
  }
  return undefined;
}

// ---- minimal OpenAPI schema reading: $ref, allOf, properties, examples ----

function resolve(version: 'v1' | 'v2', node: unknown): Json {
  let cur = node as Json;
  for (let hops = 0; cur && typeof cur['$ref'] === 'string' && hops < 20; hops++) {
    const parts = (cur['$ref'] as string).replace(/^#\//, '').split('/');
    cur = parts.reduce<unknown>((o, k) => (o as Json)[k], specs[version]) as Json;
  }
  return cur ?? {};
}

/** Properties of an object schema, merging allOf. */
function props(version: 'v1' | 'v2', node: unknown): Record<string, Json> {
  const s = resolve(version, node);
  const out: Record<string, Json> = {};
  for (const part of (s['allOf'] as unknown[] | undefined) ?? []) Object.assign(out, props(version, part));
  for (const [k, v] of Object.entries((s['properties'] as Record<string, unknown> | undefined) ?? {})) out[k] = resolve(version, v);
  return out;
}

/** Descends a dot path through object properties and array items; undefined when the schema has no such path. */
function schemaAt(version: 'v1' | 'v2', node: unknown, path: string): Json | undefined {
  let cur: Json | undefined = resolve(version, node);
  for (const part of path.split('.').filter(Boolean)) {
    if (!cur) return undefined;
    if (cur['type'] === 'array') cur = resolve(version, cur['items']);
    cur = props(version, cur)[part];
  }
  if (cur && cur['type'] === 'array') return resolve(version, cur['items']);
  return cur;
}

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.').filter(Boolean)) {
    if (Array.isArray(cur)) cur = cur[0];
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[part];
  }
  return Array.isArray(cur) ? cur[0] : cur;
}

function examplesOf(version: 'v1' | 'v2', op: Json): unknown[] {
  const content = ((op['responses'] as Json)['200'] as Json | undefined)?.['content'] as Json | undefined;
  const media = content?.['application/json'] as Json | undefined;
  if (!media) return [];
  if (media['example'] !== undefined) return [media['example']];
  const named = media['examples'] as Record<string, unknown> | undefined;
  if (named) return Object.values(named).map((e) => resolve(version, e)['value']);
  const schemaExample = resolve(version, media['schema'])['example'];
  return schemaExample === undefined ? [] : [schemaExample];
}

/**
 * Field names an API row of this list has: the response schema's item properties plus the examples' item
 * keys (the examples show real shapes where the schema lags, e.g. v2 products). Wrapped items
 * (`{object|item, …, data}`: mail lists) are unwrapped to `data`, as the catalog's `$item` convention reads them.
 */
function rowFields(list: ListSpec, within = ''): Set<string> {
  const { version } = splitEndpoint(list.endpoint);
  const op = getOperation(list.endpoint)!;
  const media = ((((op['responses'] as Json)['200'] as Json)['content'] as Json)['application/json'] as Json) ?? {};
  const rowsPath = list.rowsPath ?? 'data';
  const root = resolve(version, media['schema']);
  // Some single-object responses are modelled without the {success, data} envelope.
  let item = schemaAt(version, root, rowsPath) ?? root;
  const unwrap = (keys: Record<string, unknown>): boolean => 'data' in keys && ('object' in keys || 'item' in keys);
  if (unwrap(props(version, item))) item = schemaAt(version, item, 'data') ?? item;
  if (within) item = schemaAt(version, item, within) ?? {};
  const fields = new Set(Object.keys(props(version, item)));
  // Optional fields asked for with include_fields are in the rows (the schemas do not list them all).
  if (!within) for (const f of (list.params?.['include_fields'] ?? '').split(',').filter(Boolean)) fields.add(f);
  for (const ex of examplesOf(version, op)) {
    let row = valueAt(ex, rowsPath);
    if (row && typeof row === 'object' && unwrap(row as Json)) row = (row as Json)['data'];
    if (within) row = valueAt(row, within);
    if (row && typeof row === 'object') for (const k of Object.keys(row)) fields.add(k);
  }
  return fields;
}

function parameterNames(endpoint: string): Set<string> {
  const { version } = splitEndpoint(endpoint);
  const op = getOperation(endpoint)!;
  return new Set(((op['parameters'] as unknown[] | undefined) ?? []).map((p) => resolve(version, p)['name'] as string));
}

function parameter(endpoint: string, name: string): Json | undefined {
  const { version } = splitEndpoint(endpoint);
  const op = getOperation(endpoint)!;
  const p = ((op['parameters'] as unknown[] | undefined) ?? []).map((x) => resolve(version, x)).find((x) => x['name'] === name);
  return p ? resolve(version, p['schema']) : undefined;
}

/** History tables (every version of another table, added later) stand for Fivetran's *_HISTORY beside the latest state. */
const isHistory = (t: TableSpec): boolean => (t.sync.kind as string) === 'history';
const tables = [...catalog.values()].filter((t) => !isHistory(t));

describe('history tables', () => {
  it('mirror their table: same key and columns, fed by its source', () => {
    const history = [...catalog.values()].filter(isHistory);
    expect(history.map((t) => t.name).sort()).toEqual(['deal_history', 'lead_history', 'lead_label_history']);
    for (const h of history) {
      const base = catalog.get((h.sync as { of: string }).of)!;
      expect(base.history).toBe(h.name);
      expect(h.primaryKey).toEqual(base.primaryKey);
      expect(h.columns.map((c) => c.name)).toEqual(base.columns.map((c) => c.name));
    }
  });
});

describe('catalog coverage of the Fivetran ERD', () => {
  it('covers every ERD table (minus the dead subscription tables) exactly once, plus activity_field', () => {
    const wanted = [...erd.map((t) => t.name.toLowerCase()).filter((n) => !(n in NOT_COVERED)), ...EXTRA].sort();
    const coveredBy = new Map<string, string[]>();
    for (const t of tables) {
      const as = (t.fivetranName ?? t.name).toLowerCase();
      coveredBy.set(as, [...(coveredBy.get(as) ?? []), t.name]);
    }
    for (const name of wanted) expect(coveredBy.get(name), `ERD table ${name}`).toHaveLength(1);
    // …and nothing else: every catalog table stands for a wanted one.
    expect(sorted([...coveredBy.keys()])).toEqual(wanted);
  });

  it('names are lower snake case; fivetranName is only set where the name differs', () => {
    for (const t of tables) {
      expect(t.name, t.name).toMatch(/^[a-z][a-z0-9_]*$/);
      if (t.fivetranName !== undefined) expect(t.fivetranName.toLowerCase(), t.name).not.toBe(t.name);
    }
  });

  it('primary keys match the ERD, except the listed deliberate differences', () => {
    for (const t of tables) {
      const erdName = (t.fivetranName ?? t.name).toLowerCase();
      const erdTable = erd.find((e) => e.name.toLowerCase() === erdName);
      if (!erdTable) continue; // activity_field: not in the ERD capture
      const diff = KEY_DIFFERENCES[t.name];
      if (diff) {
        expect(sorted(erdKey(erdTable)), `${t.name}: ERD key in KEY_DIFFERENCES`).toEqual(sorted(diff.erd));
        expect(sorted(t.primaryKey), `${t.name}: our key in KEY_DIFFERENCES`).toEqual(sorted(diff.ours));
      } else {
        expect(sorted(t.primaryKey), `${t.name} primary key`).toEqual(sorted(erdKey(erdTable)));
      }
    }
    for (const name of Object.keys(KEY_DIFFERENCES)) expect(catalog.has(name), `KEY_DIFFERENCES.${name}`).toBe(true);
  });
});

describe('catalog against the Pipedrive OpenAPI specs', () => {
  it('every endpoint (and parent list) is a GET path of the spec of its API version', () => {
    for (const t of tables) {
      for (const l of listsOf(t)) expect(getOperation(l.endpoint), `${t.name}: GET ${l.endpoint}`).toBeDefined();
      if (t.sync.kind === 'recents') {
        const items = parameter('/v1/recents', 'items');
        expect(items?.['enum'], `${t.name}: recents item`).toContain(t.sync.item);
      }
    }
  });

  it('tables on v2 read v2 endpoints for their own rows; v1 tables v1 endpoints', () => {
    for (const t of tables) {
      const own = rowList(t);
      if (own) expect(splitEndpoint(own.endpoint).version, t.name).toBe(t.api);
    }
  });

  it('v2 lists page with the v2 cursor at the maximum limit of 500', () => {
    for (const t of tables) {
      for (const l of listsOf(t)) {
        if (splitEndpoint(l.endpoint).version !== 'v2') continue;
        expect(l.pagination, `${t.name}: ${l.endpoint}`).toBe('v2-cursor');
        expect(l.limit, `${t.name}: ${l.endpoint}`).toBe(500);
      }
    }
  });

  it('paginated lists accept the paging parameters their pagination style sends', () => {
    for (const t of tables) {
      for (const l of listsOf(t)) {
        const names = parameterNames(l.endpoint);
        if (l.pagination === 'v2-cursor' || l.pagination === 'v1-cursor') expect([...names], `${t.name}: ${l.endpoint}`).toEqual(expect.arrayContaining(['cursor', 'limit']));
        if (l.pagination === 'v1-offset') expect([...names], `${t.name}: ${l.endpoint}`).toEqual(expect.arrayContaining(['start', 'limit']));
        if (l.pagination === 'none') expect(names.has('cursor') || names.has('start'), `${t.name}: ${l.endpoint} is paginated`).toBe(false);
      }
    }
  });

  it('declared query parameters exist on their endpoint', () => {
    for (const t of tables) {
      for (const l of listsOf(t)) {
        const names = parameterNames(l.endpoint);
        for (const p of Object.keys(l.params ?? {})) expect(names.has(p), `${t.name}: ${l.endpoint} ?${p}`).toBe(true);
      }
    }
  });

  it('include_fields ask only for values the endpoint offers (its enum)', () => {
    let asked = 0;
    for (const t of tables) {
      for (const l of listsOf(t)) {
        const wanted = (l.params?.['include_fields'] ?? '').split(',').filter(Boolean);
        if (wanted.length === 0) continue;
        const schema = parameter(l.endpoint, 'include_fields');
        const offered = (schema?.['enum'] ?? (resolve(splitEndpoint(l.endpoint).version, schema?.['items'])['enum'])) as string[] | undefined;
        expect(offered, `${t.name}: ${l.endpoint} include_fields enum`).toBeDefined();
        for (const f of wanted) expect(offered, `${t.name}: ${l.endpoint} include_fields=${f}`).toContain(f);
        asked += wanted.length;
      }
    }
    expect(asked).toBeGreaterThan(40);
  });

  it('incremental lists support their filter and sort by the cursor field', () => {
    for (const t of tables) {
      if (t.sync.kind === 'updated-since') {
        const names = parameterNames(t.sync.list.endpoint);
        if (!SPEC_GAPS.sinceParamMissing.has(t.name)) expect(names.has(t.sync.sinceParam), `${t.name}: ${t.sync.sinceParam}`).toBe(true);
        else expect(names.has(t.sync.sinceParam), `${t.name} is listed as a spec gap but the spec has it now`).toBe(false);
      }
      if (t.sync.kind === 'updated-since' && t.sync.sortQuery) {
        // v1 leads: `sort=<field> ASC` — the spec names the parameter; its value sorts by the cursor ascending.
        const names = parameterNames(t.sync.list.endpoint);
        for (const [name, value] of Object.entries(t.sync.sortQuery)) {
          expect(names.has(name), `${t.name}: ${name}`).toBe(true);
          expect(value, `${t.name}: ${name}=${value}`).toBe(`${t.sync.cursorField} ASC`);
        }
      } else if (t.sync.kind === 'updated-since' || t.sync.kind === 'sorted-desc') {
        expect(parameter(t.sync.list.endpoint, 'sort_by')?.['enum'], `${t.name}: sort_by`).toContain(t.sync.cursorField);
      }
    }
  });

  it('column paths name fields of the API response (v2 shapes for v2 tables)', () => {
    const byName = catalog;
    for (const t of tables) {
      let fields: Set<string>;
      if (t.sync.kind === 'child') {
        const parent = byName.get(t.sync.parent)!;
        const from = parent.children!.find((c) => c.table === t.name)!.from;
        fields = rowFields(rowList(parent)!, from);
      } else {
        fields = rowFields(rowList(t)!);
      }
      for (const c of t.columns) {
        const path = c.path ?? c.name;
        if (path.startsWith('$') || 'read' in c) continue; // wrapper/parent paths; columns computed at run time
        expect(fields.has(path.split('.')[0]!), `${t.name}.${c.name} (${path}) in ${[...fields].join(', ')}`).toBe(true);
      }
      for (const ch of t.children ?? []) expect(fields.has(ch.from.split('.')[0]!), `${t.name} children from ${ch.from}`).toBe(true);
    }
  });
});

describe('catalog internal consistency', () => {
  it('every column name is unique per table', () => {
    for (const t of tables) {
      const names = t.columns.map((c) => c.name);
      expect(new Set(names).size, `${t.name}: ${names.join(', ')}`).toBe(names.length);
    }
  });

  it("every child table's parent declares it in children, and every declared child names that parent", () => {
    for (const t of tables) {
      if (t.sync.kind === 'child') {
        const parent = catalog.get(t.sync.parent);
        expect(parent, `${t.name}: parent ${t.sync.parent}`).toBeDefined();
        expect(parent!.children?.filter((c) => c.table === t.name), `${t.sync.parent}.children`).toHaveLength(1);
      }
      for (const c of t.children ?? []) {
        const child = catalog.get(c.table);
        expect(child, `${t.name}.children: ${c.table}`).toBeDefined();
        expect(child!.sync, `${c.table}.sync`).toEqual({ kind: 'child', parent: t.name });
      }
    }
  });

  it("child tables link to the parent by its primary key ($parent.<pk>), and use $index/$value only as children", () => {
    for (const t of tables) {
      const parentRefs = t.columns.filter((c) => c.path?.startsWith('$parent.')).map((c) => c.path!.slice('$parent.'.length));
      if (t.sync.kind === 'child') {
        const parent = catalog.get(t.sync.parent)!;
        // The engine finds a vanished parent's children by its key row, so the link must be exactly the key.
        expect(sorted(parentRefs), `${t.name} → ${parent.name}`).toEqual(sorted(parent.primaryKey));
        for (const k of parent.primaryKey) expect(parent.columns.find((c) => c.name === k)?.path, `${parent.name}.${k} has no path`).toBeUndefined();
        for (const c of t.columns.filter((x) => x.path?.startsWith('$parent.'))) {
          const parentCol = parent.columns.find((p) => p.name === c.path!.slice('$parent.'.length))!;
          expect(c.type, `${t.name}.${c.name} type = ${parent.name}.${parentCol.name} type`).toBe(parentCol.type);
        }
        expect(t.api, `${t.name} api`).toBe(parent.api);
      } else if (parentRefs.length > 0 && t.sync.kind !== 'changelog') {
        // (A changelog table's $parent is the row whose changelog it is.)
        // Outside children, $parent reads the row of a per-parent list's parent.
        expect(rowList(t)?.forEachParent, `${t.name}: $parent without forEachParent`).toBeDefined();
      }
      const positional = t.columns.filter((c) => c.path === '$value' || c.path === '$index').map((c) => c.name);
      if (t.sync.kind !== 'child') expect(positional, `${t.name}`).toEqual(t.name === 'filter_helper' ? ['id'] : []);
    }
  });

  it('delete detection fits the sync mode, and every table has docs notes', () => {
    for (const t of tables) {
      expect(t.deletes.length, t.name).toBeGreaterThan(0);
      expect(t.notes, `${t.name}.notes`).toMatch(/\S/);
      expect(t.notes!.includes('\n'), `${t.name}.notes is one line`).toBe(false);
      const kinds = t.deletes.map((d) => d.kind);
      if (t.sync.kind === 'child') expect(kinds, t.name).toEqual(['with-parent']);
      else expect(kinds, t.name).not.toContain('with-parent');
      if (t.sync.kind === 'reimport') expect(kinds, t.name).toContain('vanish');
      else expect(kinds, t.name).not.toContain('vanish');
      for (const d of t.deletes) if (d.kind === 'id-scan') expect(d.everyMs, t.name).toBeGreaterThanOrEqual(3_600_000);
    }
  });

  it('createdField, cursor and flag fields are columns of a fitting type', () => {
    for (const t of tables) {
      const col = (n: string) => t.columns.find((c) => c.name === n);
      if (t.createdField) expect(col(t.createdField)?.type, `${t.name}.createdField`).toBe('timestamp');
      if ('cursorField' in t.sync) expect(col(t.sync.cursorField)?.type, `${t.name} cursor`).toBe('timestamp');
      for (const d of t.deletes) {
        if (d.kind !== 'flag') continue;
        const type = col(d.field)?.type;
        expect(type === 'boolean' ? typeof d.value === 'boolean' : type === 'long' && typeof d.value === 'number', `${t.name} flag ${d.field}`).toBe(true);
      }
    }
  });

  it('v2 incremental tables are the seven v2 entities (and v1 leads); Recents covers the four v1 incremental tables', () => {
    const by = (kind: TableSpec['sync']['kind']) => sorted(tables.filter((t) => t.sync.kind === kind).map((t) => t.name));
    expect(by('updated-since')).toEqual(['activity', 'deal', 'lead', 'organization', 'person', 'product']);
    expect(by('sorted-desc')).toEqual(['pipeline', 'stage']);
    expect(by('recents')).toEqual(['activity_type', 'file', 'note', 'user']);
  });
});

describe('every column of the Fivetran ERD is covered', () => {
  /** Our table standing for an ERD table (DEAL_HISTORY is deal's history: its columns are deal's). */
  const ours = (erdName: string): TableSpec | undefined => tables.find((t) => (t.fivetranName ?? t.name).toLowerCase() === erdName);
  /** The fields of the API rows a table reads (children: the parent's array items). */
  const apiFields = (t: TableSpec): Set<string> => {
    if (t.sync.kind === 'child') {
      const parent = catalog.get(t.sync.parent)!;
      return rowFields(rowList(parent)!, parent.children!.find((c) => c.table === t.name)!.from);
    }
    return rowFields(rowList(t)!);
  };

  it('each ERD column is a column of ours, mapped to one (`as`), derivable (`derive`) or absent with its reason', () => {
    const uncovered: string[] = [];
    let same = 0;
    let mapped = 0;
    for (const e of erd.filter((x) => !(x.name in NOT_COVERED))) {
      const t = ours(e.name)!;
      expect(t, `ERD table ${e.name}`).toBeDefined();
      const columns = new Set(t.columns.map((c) => c.name));
      const entries = FIVETRAN_COLUMNS[t.name] ?? {};
      for (const col of e.columns) {
        const entry = entries[col.name];
        if (columns.has(col.name)) {
          expect(entry, `${e.name}.${col.name} is a column of ${t.name}: no mapping entry needed`).toBeUndefined();
          same++;
        } else if (col.name === 'custom_*') {
          expect(t.customFields, `${e.name}.custom_*: ${t.name} has custom fields`).toBeDefined();
          same++;
        } else if (!entry) {
          uncovered.push(`${e.name}.${col.name}`);
        } else {
          mapped++;
          if ('as' in entry) expect(columns.has(entry.as), `${e.name}.${col.name} as ${t.name}.${entry.as}`).toBe(true);
          else {
            const why = 'derive' in entry ? entry.derive : entry.absent;
            expect(why.length, `${e.name}.${col.name}: a reason`).toBeGreaterThan(10);
          }
          // Absent means the API we read has no such field: one it has belongs in the catalog.
          if ('absent' in entry && !col.name.includes('*')) expect(apiFields(t).has(col.name), `${e.name}.${col.name} is absent but ${t.name}'s API rows have it`).toBe(false);
        }
      }
    }
    expect(uncovered, 'ERD columns without a column, a mapping or a reason').toEqual([]);
    expect(same).toBeGreaterThan(300);
    expect(mapped).toBeGreaterThan(50);
  });

  it('mapping entries name columns the ERD has, of tables the catalog has', () => {
    for (const [table, entries] of Object.entries(FIVETRAN_COLUMNS)) {
      const t = catalog.get(table);
      expect(t, `FIVETRAN_COLUMNS.${table}`).toBeDefined();
      const e = erd.find((x) => x.name.toLowerCase() === (t!.fivetranName ?? t!.name).toLowerCase())!;
      for (const name of Object.keys(entries)) expect(e.columns.map((c) => c.name), `FIVETRAN_COLUMNS.${table}.${name}`).toContain(name);
    }
  });

  it("renames give each table unique column names under Fivetran's naming, none taking a column's own name", () => {
    for (const t of tables) {
      const renames = fivetranColumnNames(t.name);
      const names = t.columns.map((c) => renames.get(c.name) ?? c.name);
      expect(new Set(names).size, `${t.name}: ${names.join(', ')}`).toBe(names.length);
      for (const theirs of renames.values()) expect(t.columns.some((c) => c.name === theirs), `${t.name}: ${theirs} is already a column`).toBe(false);
    }
  });
});
