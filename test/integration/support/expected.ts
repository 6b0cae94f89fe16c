/**
 * The differential test's oracle: what every latest-state table must hold, derived from the local
 * Pipedrive's own store (`sim.store`), independently of the product. Nothing here calls the product's
 * row parsing (src/pipedrive/row.ts), its custom-field naming or value spreading
 * (src/capture/custom-fields.ts), its delete flags (isDeletedRow), key strings, TableRuntime or client:
 * the catalog is used only as the contract — which tables, their columns, column types, primary keys and
 * (for presented JSON) the declared paths.
 *
 * Liveness always comes from the store: a row is expected live iff the store holds it undeleted
 * (`deletedAtMs === null`, and the store's own delete/visibility state where the table's contract says
 * so: archived leads, deleted teams, other users' call logs, mail of deleted or archived deals, …).
 * Custom-field columns are named and filled by custom-columns.ts from the store's field definitions and
 * values. Values come, per table, from one of three places:
 *
 *   STORE — the record the store holds, mapped to the columns here (times from the rows' epoch seconds or
 *   the record's own time text). Used wherever the store keeps every column's value:
 *     deal, activity, activity_participant, person, organization, product, product_price_history,
 *     pipeline, stage, activity_type, note, lead_lead_label, lead_label, lead_source, currency,
 *     filter_helper, team, team_user, task, project, project_deal, product_deal (line sums by the store's
 *     `sumOf`), installment (the store's `installmentsOf` fixtures), mail_thread, goal_pipeline,
 *     permission_assignment (the store's users × `permissionSetsFor`).
 *   STORE + PRESENTED — the store, except a few columns only the presenters make up, taken from the JSON:
 *     lead (custom fields from the store's flat values; cc_email is derived from the row id by the
 *     presenter), call_log (company_id is the company, not kept per call), filter (filter_code: none kept).
 *   PRESENTED — the presented JSON, read with raw `fetch` as any HTTP client would (presented.ts), for the
 *   live keys the store names; used where most columns are computed or filled in by route presenters:
 *     file (constant link/storage fields, download url), user (`access` from permission sets),
 *     person_email / person_phone (seeded contacts are markers the presenter expands), mail_message and
 *     email_to/cc/bcc (flags, parties, urls), goal / goal_result (nested shapes, progress
 *     computed from deals), role and permission_set / permission (counts computed from users),
 *     deal_field / deal_field_option / deal_field_subfield / activity_field (presented field catalog,
 *     ui_visibility defaults).
 */
import { tableByName } from '../../../src/catalog/index.ts';
import { DEAL_INCLUDE_FIELDS, ORGANIZATION_INCLUDE_FIELDS, PERSON_INCLUDE_FIELDS } from '../../../src/catalog/tables/shared.ts';
import type { ColumnType, TableSpec } from '../../../src/catalog/types.ts';
import type { Simulator } from '../../../src/simulator/server.ts';
import { ACCOUNT } from '../../../src/simulator/store/account.ts';
import { CURRENCIES, FILTER_HELPERS, LEAD_SOURCES, LEGACY_TEAMS, PERMISSION_SETS, ROLES, permissionSetsFor } from '../../../src/simulator/store/company.ts';
import { sumOf } from '../../../src/simulator/store/deal-products.ts';
import type { FieldEntity } from '../../../src/simulator/store/fields-builtin.ts';
import { installmentsOf } from '../../../src/simulator/store/installments.ts';
import { ADDRESS_FIELDS } from '../../../src/simulator/store/model-kit.ts';
import { PIN_FLAGS } from '../../../src/simulator/store/notes.ts';
import { customFieldsOf, type CustomField, type FieldSightings, type StoredValue } from './custom-columns.ts';
import { atPath, fromPresented, instant, isoOfSeconds, PresentedApi, type PathContext } from './presented.ts';

const DAY_MS = 86_400_000;
const SINK_META = ['_op', '_deleted', '_source_ts', '_synced', '_resync'];

export interface ExpectedColumn {
  readonly name: string;
  readonly type: ColumnType;
}

/** A row in canonical form (see `canonical`): column → value. */
export type CanonicalRow = Record<string, unknown>;

export interface ExpectedTable {
  readonly name: string;
  readonly primaryKey: readonly string[];
  /** Catalog columns, then custom-field columns. */
  readonly columns: readonly ExpectedColumn[];
  /** Live rows by key (`keyOf`). */
  readonly rows: Map<string, CanonicalRow>;
}

/** The sink's bookkeeping columns every latest-state table has besides the expected ones. */
export const sinkMetaColumns: readonly string[] = SINK_META;

type Obj = Record<string, unknown>;

/**
 * One canonical form for a value of a column type, whoever produced it: numbers, booleans, text, instants
 * as ISO 8601 UTC with ms, dates as `YYYY-MM-DD`, JSON as the plain value.
 */
function canonicalExpected(type: ColumnType, v: unknown, what: string): unknown {
  if (v === null || v === undefined) return null;
  const bad = (): Error => new Error(`oracle: ${what}: store value ${JSON.stringify(v)} is not a ${type}`);
  switch (type) {
    case 'long':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      throw bad();
    case 'double':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      throw bad();
    case 'boolean':
      if (typeof v === 'boolean') return v;
      throw bad();
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      throw bad();
    case 'timestamp': {
      const iso = instant(v);
      if (iso === null) throw bad();
      return iso;
    }
    case 'date':
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
      throw bad();
    case 'json':
      return JSON.parse(JSON.stringify(v)) as unknown;
  }
}

/** A value read from the sink database → the canonical form (DuckDB: bigint, Date, JSON text). */
export function fromSink(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'long':
    case 'double':
      return Number(v);
    case 'boolean':
      return v === true;
    case 'timestamp':
      if (!(v instanceof Date)) throw new Error(`sink timestamp ${String(v)} is not a Date`);
      return v.toISOString();
    case 'date':
      if (v instanceof Date) return v.toISOString().slice(0, 10);
      if (typeof v === 'number') return new Date(v * DAY_MS).toISOString().slice(0, 10);
      return String(v).slice(0, 10);
    case 'json':
      return JSON.parse(String(v)) as unknown;
    case 'string':
      return String(v);
  }
}

/** A row's key: its primary-key values in canonical form. */
export function keyOf(table: Pick<ExpectedTable, 'primaryKey' | 'columns'>, row: CanonicalRow): string {
  return JSON.stringify(table.primaryKey.map((k) => row[k] ?? null));
}

/** A sink row's canonical form for the table's columns (bookkeeping columns kept as they are). */
export function canonicalSinkRow(table: ExpectedTable, row: Obj): CanonicalRow {
  const out: CanonicalRow = { ...row };
  for (const c of table.columns) out[c.name] = fromSink(c.type, row[c.name]);
  return out;
}

/**
 * Every latest-state table (tables with rows of their own and their child tables; not history or
 * change-log tables) as the local Pipedrive holds it now: table → expected columns and live rows.
 */
export async function expectedTables(sim: Simulator, sightings: FieldSightings): Promise<Map<string, ExpectedTable>> {
  const o = new Oracle(sim, sightings);
  await o.build();
  return o.tables;
}

class Oracle {
  readonly tables = new Map<string, ExpectedTable>();
  private readonly api: PresentedApi;
  private readonly custom = new Map<string, CustomField[]>();

  constructor(
    private readonly sim: Simulator,
    private readonly sightings: FieldSightings,
  ) {
    this.api = new PresentedApi(sim.baseUrl, sim.token);
  }

  /** The table with its catalog columns, plus custom-field columns for tables that have them. */
  private table(name: string, customOf?: FieldEntity): ExpectedTable {
    const spec = tableByName(name);
    const columns: ExpectedColumn[] = spec.columns.map((c) => ({ name: c.name, type: c.type }));
    if (customOf) {
      const fields = customFieldsOf(customOf, spec.columns.map((c) => c.name), this.sightings, this.sim.store.fields);
      this.custom.set(name, fields);
      for (const f of fields) columns.push(...f.columns.map((c) => ({ name: c.name, type: c.type })));
    }
    const t: ExpectedTable = { name, primaryKey: spec.primaryKey, columns, rows: new Map() };
    this.tables.set(name, t);
    return t;
  }

  /** Adds a row given every catalog column (custom columns come from `values`); canonicalises and checks it. */
  private put(t: ExpectedTable, row: Obj, stored?: (key: string) => StoredValue | undefined): void {
    const out: CanonicalRow = {};
    const spec = tableByName(t.name);
    for (const c of spec.columns) {
      if (!(c.name in row)) throw new Error(`oracle: ${t.name}: no value for column ${c.name}`);
      out[c.name] = canonicalExpected(c.type, row[c.name], `${t.name}.${c.name}`);
    }
    for (const f of this.custom.get(t.name) ?? []) {
      const s = f.def === null || !stored ? undefined : stored(f.key);
      for (const c of f.columns) out[c.name] = canonicalExpected(c.type, s === undefined ? null : c.value(s), `${t.name}.${c.name}`);
    }
    const key = keyOf(t, out);
    if (t.rows.has(key)) throw new Error(`oracle: ${t.name}: key ${key} twice`);
    t.rows.set(key, out);
  }

  /** A presented JSON item → the table's catalog columns, by their declared paths. */
  private presentedRow(t: ExpectedTable, item: unknown, ctx: PathContext = {}): Obj {
    const row: Obj = {};
    for (const c of tableByName(t.name).columns) row[c.name] = fromPresented(c.type, atPath(item, c, ctx), `${t.name}.${c.name}`);
    return row;
  }

  /** The catalog columns of `spec` read by name from a store record, `set` overriding or adding some. */
  private fromRecord(name: string, record: object, set: Obj = {}): Obj {
    const r = record as Obj;
    const row: Obj = {};
    for (const c of tableByName(name).columns) {
      if (c.name in set) row[c.name] = set[c.name];
      else if (c.name in r) row[c.name] = r[c.name];
      else throw new Error(`oracle: ${name}: the store record has no ${c.name} (${Object.keys(r).join(', ')})`);
    }
    return row;
  }

  async build(): Promise<void> {
    const s = this.sim.store;
    // Reads purge what is due (30 days after a delete) before anything is looked at, as every API read does.
    s.deals.purge();
    for (const e of [s.persons, s.organizations, s.activities, s.products, s.pipelines, s.stages]) e.purge();

    await this.deals();
    this.activities();
    await this.persons();
    await this.organizations();
    this.products();
    this.pipelinesAndStages();
    this.activityTypes();
    this.notes();
    await this.leads();
    this.referenceData();
    await this.filters();
    await this.callLogs();
    this.projects();
    this.dealProductsAndInstallments();
    this.dealPeople();
    await this.mail();
    await this.files();
    await this.users();
    await this.goals();
    await this.rolesAndPermissions();
    await this.fieldCatalogs();
  }

  /** Deals the per-deal lists walk: live (not deleted) and not archived (the default v2 list). */
  private listedDeals(): Set<number> {
    return new Set(this.sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived).map((r) => r.id));
  }

  /**
   * The include_fields columns (counters, next/last activity, smart BCC, …) of every listed item, as the v2
   * list presents them: the store keeps none of them (they are computed when presented).
   */
  private async included(name: string, paths: readonly string[], fields: readonly string[]): Promise<Map<string, Obj>> {
    const spec = tableByName(name);
    const out = new Map<string, Obj>();
    for (const path of paths) {
      for (const item of await this.api.v2List(path, { include_fields: fields.join(','), ...(name === 'deal' ? { status: 'open,won,lost' } : {}) })) {
        const row: Obj = {};
        for (const f of fields) row[f] = fromPresented(spec.columns.find((c) => c.name === f)!.type, item[f] ?? null, `${name}.${f}`);
        out.set(String(item['id']), row);
      }
    }
    return out;
  }

  private includedOf(name: string, all: ReadonlyMap<string, Obj>, id: number): Obj {
    const row = all.get(String(id));
    if (!row) throw new Error(`oracle: ${name} ${id} is live in the store but not listed by the v2 list`);
    return row;
  }

  private async deals(): Promise<void> {
    const t = this.table('deal', 'deal');
    const included = await this.included('deal', ['/api/v2/deals', '/api/v2/deals/archived'], DEAL_INCLUDE_FIELDS);
    for (const row of this.sim.store.deals.table.all()) {
      if (row.deletedAtMs !== null) continue; // archived deals are live: they are read from the archived list
      const d = row.data;
      this.put(t, this.fromRecord('deal', d, { ...this.includedOf('deal', included, row.id), add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }), v2Custom(d.custom_fields));
    }
  }

  private activities(): void {
    const t = this.table('activity', 'activity');
    const p = this.table('activity_participant');
    for (const row of this.sim.store.activities.all()) {
      if (row.deletedAtMs !== null) continue;
      const a = row.data;
      const x = a.extra;
      const extra = {
        lead_id: x?.lead_id ?? null, project_id: x?.project_id ?? null, attendees: x?.attendees ?? [],
        conference_meeting_client: x?.conference_meeting_client ?? null, conference_meeting_url: x?.conference_meeting_url ?? null,
        conference_meeting_id: x?.conference_meeting_id ?? null, public_description: x?.public_description ?? null,
        priority: x?.priority ?? null, note: x?.note ?? null,
      };
      this.put(t, this.fromRecord('activity', a, {
        id: row.id, ...extra, ...address('activity', 'location', x?.location ?? null),
        add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec), marked_as_done_time: isoOfSeconds(a.marked_as_done_sec),
      }), v2Custom(a.custom_fields));
      // No explicit participants: the primary person alone, if any (the store's documented default).
      const participants = a.participants ?? (a.person_id === null ? [] : [{ person_id: a.person_id, primary: true }]);
      for (const x2 of participants) this.put(p, { activity_id: row.id, person_id: x2.person_id, primary: x2.primary });
    }
  }

  private async persons(): Promise<void> {
    const t = this.table('person', 'person');
    const emails = this.table('person_email');
    const phones = this.table('person_phone');
    const live = this.sim.store.persons.all().filter((r) => r.deletedAtMs === null);
    const included = await this.included('person', ['/api/v2/persons'], PERSON_INCLUDE_FIELDS);
    for (const row of live) {
      const p = row.data;
      this.put(t, this.fromRecord('person', p, { ...this.includedOf('person', included, row.id), id: row.id, ...address('person', 'postal_address', p.postal_address), add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }), v2Custom(p.custom_fields));
    }
    // Contacts: seeded persons hold markers the presenter expands into an address and a number.
    const presented = byKey(await this.api.v2List('/api/v2/persons'), 'id');
    for (const row of live) {
      const item = presented.get(String(row.id));
      if (!item) throw new Error(`oracle: person ${row.id} is live in the store but not listed by GET /api/v2/persons`);
      for (const [table, field] of [[emails, 'emails'], [phones, 'phones']] as const) {
        ((item[field] as unknown[] | null) ?? []).forEach((el, index) => this.put(table, this.presentedRow(table, el, { parent: item, index })));
      }
    }
  }

  private async organizations(): Promise<void> {
    const t = this.table('organization', 'organization');
    const included = await this.included('organization', ['/api/v2/organizations'], ORGANIZATION_INCLUDE_FIELDS);
    for (const row of this.sim.store.organizations.all()) {
      if (row.deletedAtMs !== null) continue;
      const o = row.data;
      this.put(t, this.fromRecord('organization', o, { ...this.includedOf('organization', included, row.id), id: row.id, ...address('organization', 'address', o.address), add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }), v2Custom(o.custom_fields));
    }
  }

  private products(): void {
    const t = this.table('product', 'product');
    const prices = this.table('product_price_history');
    for (const row of this.sim.store.products.all()) {
      if (row.deletedAtMs !== null) continue;
      const p = row.data;
      this.put(t, this.fromRecord('product', p, { id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }), v2Custom(p.custom_fields));
      for (const x of p.prices) this.put(prices, { product_id: row.id, currency: x.currency, price: x.price, cost: x.cost, direct_cost: x.direct_cost, notes: x.notes });
    }
  }

  private pipelinesAndStages(): void {
    const s = this.sim.store;
    for (const [name, store] of [['pipeline', s.pipelines], ['stage', s.stages]] as const) {
      const t = this.table(name);
      for (const row of store.all()) {
        if (row.deletedAtMs !== null) continue;
        this.put(t, this.fromRecord(name, row.data, { id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }));
      }
    }
  }

  private activityTypes(): void {
    const t = this.table('activity_type');
    for (const row of this.sim.store.v1.activityTypes.rows.all()) {
      if (row.deletedAtMs !== null) continue;
      this.put(t, this.fromRecord('activity_type', row.data, { id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }));
    }
  }

  private notes(): void {
    const t = this.table('note');
    for (const row of this.sim.store.v1.notes.rows.all()) {
      if (row.deletedAtMs !== null) continue;
      const n = row.data;
      // Pin flags are one bitmask in the store: bit i ⇔ PIN_FLAGS[i].
      const pins = Object.fromEntries(PIN_FLAGS.map((f, i) => [f, (n.pinned & (1 << i)) !== 0]));
      this.put(t, this.fromRecord('note', n, { ...pins, id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) }));
    }
  }

  private async leads(): Promise<void> {
    const t = this.table('lead', 'deal'); // leads share the deal fields
    const labels = this.table('lead_lead_label');
    // Archived leads leave GET /v1/leads: by the lead table's contract they count as deleted.
    const live = this.sim.store.v1.leads.rows.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived);
    const presented = byKey(await this.api.v1List('/v1/leads', 500), 'id');
    for (const row of live) {
      const l = row.data;
      const item = presented.get(l.uuid);
      if (!item) throw new Error(`oracle: lead ${l.uuid} is live in the store but not listed by GET /v1/leads`);
      this.put(t, this.fromRecord('lead', l, {
        id: l.uuid,
        // The store keeps amount and currency; the lead has a value only when an amount is set.
        value_amount: l.amount, value_currency: l.amount === null ? null : l.currency,
        add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec),
        cc_email: fromPresented('string', item.cc_email, 'lead.cc_email'),
      }), (key) => ({ shape: 'v1', flat: l.custom ?? {}, key }));
      for (const label of l.label_ids) this.put(labels, { lead_id: l.uuid, label_id: label });
    }
    const ll = this.table('lead_label');
    for (const row of this.sim.store.v1.leads.labels.all()) {
      if (row.deletedAtMs !== null) continue;
      this.put(ll, { id: row.data.uuid, name: row.data.name, color: row.data.color, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec) });
    }
  }

  /** The company's fixed reference data (store/company.ts). */
  private referenceData(): void {
    const sources = this.table('lead_source');
    for (const x of LEAD_SOURCES) this.put(sources, this.fromRecord('lead_source', x));
    const currencies = this.table('currency');
    for (const x of CURRENCIES) this.put(currencies, this.fromRecord('currency', x));
    const helper = this.table('filter_helper');
    // One object, so one row at position 0; the store's helper tables have no deprecated operators.
    this.put(helper, this.fromRecord('filter_helper', FILTER_HELPERS, { id: 0, deprecated_operators: null }));
    const teams = this.table('team');
    const members = this.table('team_user');
    for (const team of LEGACY_TEAMS) {
      if (team.deleted_flag !== 0) continue; // a deleted legacy team
      this.put(teams, this.fromRecord('team', team));
      for (const u of team.users) this.put(members, { team_id: team.id, user_id: u });
    }
  }

  private async filters(): Promise<void> {
    const t = this.table('filter');
    const presented = byKey((await this.api.data('/v1/filters')) as Obj[], 'id');
    for (const row of this.sim.store.v1.filters.rows.all()) {
      if (row.deletedAtMs !== null) continue;
      const f = row.data;
      const item = presented.get(String(row.id));
      if (!item) throw new Error(`oracle: filter ${row.id} is live in the store but not listed by GET /v1/filters`);
      this.put(t, this.fromRecord('filter', f, {
        id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec), last_used_time: isoOfSeconds(f.last_used_sec),
        filter_code: fromPresented('string', item.filter_code, 'filter.filter_code'), // the store has no filter code
      }));
    }
  }

  private async callLogs(): Promise<void> {
    const t = this.table('call_log');
    // GET /v1/callLogs lists only the token user's calls.
    const live = this.sim.store.v1.callLogs.rows.all().filter((r) => r.deletedAtMs === null && r.data.user_id === ACCOUNT.tokenUserId);
    const presented = byKey(await this.api.v1List('/v1/callLogs', 50), 'id');
    for (const row of live) {
      const c = row.data;
      const item = presented.get(c.cid);
      if (!item) throw new Error(`oracle: call log ${c.cid} is live in the store but not listed by GET /v1/callLogs`);
      this.put(t, this.fromRecord('call_log', c, {
        id: c.cid, start_time: isoOfSeconds(c.start_sec), end_time: isoOfSeconds(c.end_sec),
        company_id: fromPresented('long', item.company_id, 'call_log.company_id'), // the company, not kept per call
      }));
    }
  }

  private projects(): void {
    const { projects, tasks } = this.sim.store.v1.projects;
    const t = this.table('project');
    const deals = this.table('project_deal');
    for (const row of projects.all()) {
      // Deleted projects (status "deleted") are not listed; archived ones are (include_archived=true).
      if (row.deletedAtMs !== null || row.data.status === 'deleted') continue;
      const p = row.data;
      this.put(t, this.fromRecord('project', p, {
        id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec),
        status_change_time: isoOfSeconds(p.status_change_sec), archive_time: isoOfSeconds(p.archive_sec),
      }));
      for (const d of p.deal_ids) this.put(deals, { project_id: row.id, deal_id: d });
    }
    const tt = this.table('task');
    for (const row of tasks.all()) {
      if (row.deletedAtMs !== null) continue;
      this.put(tt, this.fromRecord('task', row.data, {
        id: row.id, add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec), marked_as_done_time: isoOfSeconds(row.data.marked_as_done_sec),
      }));
    }
  }

  private dealProductsAndInstallments(): void {
    const listed = this.listedDeals();
    const t = this.table('product_deal');
    for (const row of this.sim.store.dealProducts.ofDeals(listed)) {
      const d = row.data;
      this.put(t, this.fromRecord('product_deal', { ...d, ...d.terms }, {
        id: row.id, sum: sumOf(d), add_time: isoOfSeconds(row.addSec), update_time: isoOfSeconds(row.updateSec),
      }));
    }
    const inst = this.table('installment');
    for (const id of listed) for (const i of installmentsOf(this.sim.store.deals.table.get(id)!.data, this.sim.store.dealProducts.ofDeals([id]).map((r) => r.data))) this.put(inst, this.fromRecord('installment', i));
  }

  /** Participants and followers of the listed deals (read per deal; removed ones are gone). */
  private dealPeople(): void {
    const listed = this.listedDeals();
    const people = this.sim.store.dealPeople;
    const participants = this.table('deal_participant');
    const followers = this.table('deal_follower');
    for (const id of listed) {
      for (const row of people.participantsOf(id)) {
        this.put(participants, { id: row.id, deal_id: id, person_id: row.data.person_id, added_by_user_id: row.data.added_by_user_id, add_time: isoOfSeconds(row.addSec), active_flag: true });
      }
      for (const row of people.followersOf(id)) this.put(followers, { deal_id: id, user_id: row.data.user_id, add_time: isoOfSeconds(row.addSec) });
    }
  }

  private async mail(): Promise<void> {
    const listed = this.listedDeals();
    const messages = this.table('mail_message');
    const threads = this.table('mail_thread');
    const parties = { to: this.table('email_to'), cc: this.table('email_cc'), bcc: this.table('email_bcc') };
    const threadsSeen = new Set<number>();
    for (const row of this.sim.store.v1.mail.messages.all()) {
      const m = row.data;
      // Mail is read per live, listed deal; deleted messages are gone.
      if (row.deletedAtMs !== null || m.deleted || m.deal_id === null || !listed.has(m.deal_id)) continue;
      const item = (await this.api.data(`/v1/mailbox/mailMessages/${row.id}`)) as Obj;
      this.put(messages, this.presentedRow(messages, item));
      for (const [field, table] of Object.entries(parties)) {
        for (const p of (item[field] as unknown[] | null) ?? []) this.put(table, this.presentedRow(table, p, { parent: item }));
      }
      if (!threadsSeen.has(m.mail_thread_id)) {
        threadsSeen.add(m.mail_thread_id);
        this.put(threads, { id: m.mail_thread_id, deal_id: m.deal_id });
      }
    }
  }

  private async files(): Promise<void> {
    const t = this.table('file');
    const presented = byKey(await this.api.v1List('/v1/files', 100), 'id');
    for (const row of this.sim.store.v1.files.rows.all()) {
      if (row.deletedAtMs !== null) continue;
      const item = presented.get(String(row.id));
      if (!item) throw new Error(`oracle: file ${row.id} is live in the store but not listed by GET /v1/files`);
      this.put(t, this.presentedRow(t, item));
    }
  }

  private async users(): Promise<void> {
    const t = this.table('user');
    const presented = byKey((await this.api.data('/v1/users')) as Obj[], 'id');
    for (const row of this.sim.store.v1.users.list()) {
      if (row.deletedAtMs !== null) continue;
      const item = presented.get(String(row.id));
      if (!item) throw new Error(`oracle: user ${row.id} is live in the store but not listed by GET /v1/users`);
      this.put(t, this.presentedRow(t, item));
    }
  }

  private async goals(): Promise<void> {
    const t = this.table('goal');
    const pipelines = this.table('goal_pipeline');
    const results = this.table('goal_result');
    const presented = byKey(((await this.api.data('/v1/goals/find')) as { goals: Obj[] }).goals, 'id');
    // Without search parameters the list holds the token user's active goals.
    for (const row of this.sim.store.v1.goals.list()) {
      const g = row.data;
      if (!g.is_active || g.owner_id !== ACCOUNT.tokenUserId) continue;
      const item = presented.get(g.gid);
      if (!item) throw new Error(`oracle: goal ${g.gid} is live in the store but not listed by GET /v1/goals/find`);
      this.put(t, this.presentedRow(t, item));
      for (const p of g.pipeline_ids ?? []) this.put(pipelines, { goal_id: g.gid, pipeline_id: p });
      const result = await this.api.data(`/v1/goals/${g.gid}/results`, { 'period.start': g.start, 'period.end': g.end });
      this.put(results, this.presentedRow(results, result));
    }
  }

  private async rolesAndPermissions(): Promise<void> {
    const roles = this.table('role');
    const presentedRoles = byKey(await this.api.v1List('/v1/roles', 500), 'id');
    for (const role of ROLES) {
      const item = presentedRoles.get(String(role.id));
      if (!item) throw new Error(`oracle: role ${role.id} is not listed by GET /v1/roles`);
      this.put(roles, this.presentedRow(roles, item));
    }
    const sets = this.table('permission_set');
    const contents = this.table('permission');
    const assignments = this.table('permission_assignment');
    for (const set of PERMISSION_SETS) {
      const item = (await this.api.data(`/v1/permissionSets/${set.id}`)) as Obj;
      this.put(sets, this.presentedRow(sets, item));
      ((item.contents as unknown[] | null) ?? []).forEach((c, index) => this.put(contents, this.presentedRow(contents, c, { parent: item, index })));
    }
    // A set is assigned to every user that is not deleted and holds it.
    for (const u of this.sim.store.v1.users.list()) {
      if (u.deletedAtMs !== null || u.data.is_deleted) continue;
      for (const set of permissionSetsFor(u.data.is_admin)) this.put(assignments, { permission_set_id: set.id, user_id: u.id });
    }
  }

  private async fieldCatalogs(): Promise<void> {
    const deal = this.table('deal_field');
    const options = this.table('deal_field_option');
    const subfields = this.table('deal_field_subfield');
    const activity = this.table('activity_field');
    const catalogs = [
      ['deal', deal, '/api/v2/dealFields', 'ui_visibility,important_fields,required_fields'],
      ['activity', activity, '/api/v2/activityFields', 'ui_visibility'],
    ] as const;
    for (const [entity, t, path, include] of catalogs) {
      const presented = byKey(await this.api.v2List(path, { include_fields: include }), 'field_code');
      for (const def of this.sim.store.fields.list(entity)) {
        const item = presented.get(def.key);
        if (!item) throw new Error(`oracle: ${entity} field ${def.key} is live in the store but not listed by GET ${path}`);
        this.put(t, this.presentedRow(t, item));
        if (entity !== 'deal') continue;
        for (const el of (item.options as unknown[] | null) ?? []) this.put(options, this.presentedRow(options, el, { parent: item }));
        for (const el of (item.subfields as unknown[] | null) ?? []) this.put(subfields, this.presentedRow(subfields, el, { parent: item }));
      }
    }
  }
}

/** A v2 record's custom values: present keys only (an absent key is no value). */
function v2Custom(values: Readonly<Record<string, unknown>>): (key: string) => StoredValue | undefined {
  return (key) => (key in values ? { shape: 'v2', value: values[key] } : undefined);
}

/** An address object spread into the table's `<prefix>` (the full address) and `<prefix>_<part>` columns. */
function address(table: string, prefix: string, a: Readonly<Record<string, string | null>> | null): Obj {
  const spec: TableSpec = tableByName(table);
  const out: Obj = {};
  for (const c of spec.columns) {
    if (c.name === prefix) out[c.name] = a?.value ?? null;
    else if (c.name.startsWith(`${prefix}_`)) {
      const part = c.name.slice(prefix.length + 1);
      if (!(ADDRESS_FIELDS as readonly string[]).includes(part)) throw new Error(`oracle: ${table}.${c.name}: the store's addresses have no part ${part}`);
      out[c.name] = a?.[part] ?? null;
    }
  }
  return out;
}

function byKey(items: readonly Obj[], field: string): Map<string, Obj> {
  return new Map(items.map((x) => [String(x[field]), x]));
}
