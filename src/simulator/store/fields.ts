/**
 * The company's field catalog: built-in and custom fields of deals (shared by leads), persons,
 * organizations, products and activities. Custom fields get 40-hex keys from a seeded stream, so the
 * same seed gives the same keys. Both the v2 *Fields routes and v1 /v1/*Fields read this store;
 * FieldDef is the neutral shape both present from.
 *
 * Deleting a custom field marks it deleted (hidden from lists) and drops its values from every item
 * of the entity without moving their update_time — listeners registered with onDeleted do that.
 */
import type { SimClock } from '../clock.ts';
import { Rng } from '../prng.ts';
import { ACCOUNT } from './account.ts';
import { diffFields, type EventJournal } from './events.ts';
import { BUILTIN_FIELDS, FIELD_ENTITIES, subfieldsOf, type FieldEntity, type FieldType, type SubfieldDef } from './fields-builtin.ts';
import { WriteRefused } from './errors.ts';
import { InvalidFieldValue, normalizeValue } from './field-values.ts';

export interface FieldOption {
  readonly id: number;
  label: string;
  color: string | null;
  readonly addSec: number;
  updateSec: number;
}

export interface UiVisibility {
  add_visible_flag: boolean;
  details_visible_flag: boolean;
}

export interface FieldDef {
  /** Numeric id (v1 `id`); v2 addresses fields by key (`field_code`). */
  readonly id: number;
  readonly entity: FieldEntity;
  /** Built-in: short key ("title"); custom: 40-char hex hash. */
  readonly key: string;
  name: string;
  readonly field_type: FieldType;
  description: string | null;
  /** enum/set options (null for other types); deleted options move to deletedOptions. */
  options: FieldOption[] | null;
  deletedOptions: FieldOption[];
  readonly subfields: readonly SubfieldDef[] | null;
  readonly isCustom: boolean;
  /** Returned only when asked for (v2 is_optional_response_field). */
  readonly optionalResponse: boolean;
  orderNr: number;
  readonly addSec: number;
  updateSec: number;
  readonly createdByUserId: number | null;
  lastUpdatedByUserId: number | null;
  /** Seconds when a custom field was deleted; null while active. */
  deletedSec: number | null;
  ui: UiVisibility;
  important: { enabled: boolean; stage_ids: number[] };
  required: { enabled: boolean; stage_ids: number[]; statuses: Record<string, string[]> };
}

export interface NewField {
  name: string;
  field_type: FieldType;
  /** Option labels (enum/set). */
  options?: readonly string[] | undefined;
  description?: string | null | undefined;
  ui?: Partial<UiVisibility> | undefined;
}

export interface FieldPatch {
  name?: string | undefined;
  description?: string | null | undefined;
  ui?: Partial<UiVisibility> | undefined;
}

/** Leads have no catalog of their own: they use the deal fields. */
export function catalogEntity(entity: FieldEntity | 'lead'): FieldEntity {
  return entity === 'lead' ? 'deal' : entity;
}

const OPTION_TYPES: ReadonlySet<string> = new Set(['enum', 'set']);
/** Built-ins predate everything the seed generates (which spans at most a year or so back). */
const BUILTIN_AGE_SEC = 3 * 365 * 24 * 3600;

export class FieldStore {
  private readonly defs = new Map<FieldEntity, FieldDef[]>();
  private readonly listeners: ((entity: FieldEntity, key: string) => void)[] = [];
  private keyRng = new Rng(0x6b657973);
  private nextFieldId = 1;
  private nextOptionId = 1;

  constructor(
    private readonly clock: SimClock,
    private readonly journal: EventJournal,
    private readonly actorUserId: number = ACCOUNT.tokenUserId,
  ) {
    const sec = clock.nowSeconds() - BUILTIN_AGE_SEC;
    for (const entity of FIELD_ENTITIES) {
      this.defs.set(entity, BUILTIN_FIELDS[entity].map(([key, name, type, optional], i) => this.build(entity, key, name, type, {
        isCustom: false, optionalResponse: optional === true, orderNr: i + 1, sec, createdBy: null,
      })));
    }
  }

  /** Restart the custom-key stream from a seed (the seed generator calls this first). */
  reseed(seed: number): void {
    this.keyRng = new Rng((seed ^ 0x6b657973) >>> 0);
  }

  /** Fields of an entity in catalog order; deleted custom fields only when asked for. */
  list(entity: FieldEntity | 'lead', opts: { includeDeleted?: boolean } = {}): readonly Readonly<FieldDef>[] {
    const all = this.defs.get(catalogEntity(entity)) ?? [];
    return opts.includeDeleted ? all : all.filter((d) => d.deletedSec === null);
  }

  /** Active custom fields of an entity. */
  custom(entity: FieldEntity | 'lead'): readonly Readonly<FieldDef>[] {
    return this.list(entity).filter((d) => d.isCustom);
  }

  get(entity: FieldEntity | 'lead', key: string): Readonly<FieldDef> | undefined {
    return this.list(entity).find((d) => d.key === key);
  }

  getById(entity: FieldEntity | 'lead', id: number): Readonly<FieldDef> | undefined {
    return this.list(entity).find((d) => d.id === id);
  }

  /** Called with (entity, key) after a custom field is deleted. */
  onDeleted(listener: (entity: FieldEntity, key: string) => void): void {
    this.listeners.push(listener);
  }

  /** `seeded`: created by the seed generator at `sec` — part of the account, not of its history (no journal event). */
  add(entity: FieldEntity | 'lead', f: NewField, opts: { sec?: number; seeded?: boolean } = {}): Readonly<FieldDef> {
    const sec = opts.sec ?? this.clock.nowSeconds();
    const e = catalogEntity(entity);
    if (f.name.trim() === '') throw new WriteRefused(400, 'Validation failed: field_name: Must not be empty');
    const hasOptions = OPTION_TYPES.has(f.field_type);
    if (hasOptions && (f.options ?? []).length === 0) throw new WriteRefused(400, 'Validation failed: options: Required for enum and set fields');
    const list = this.defs.get(e)!;
    const def = this.build(e, this.keyRng.hex(40), f.name, f.field_type, {
      isCustom: true, optionalResponse: false, orderNr: list.length + 1, sec, createdBy: this.actorUserId,
    });
    def.description = f.description ?? null;
    if (hasOptions) def.options = (f.options ?? []).map((label) => this.option(label, sec));
    Object.assign(def.ui, f.ui ?? {});
    list.push(def);
    if (!opts.seeded) this.record(def, 'add', null);
    return def;
  }

  update(entity: FieldEntity | 'lead', key: string, patch: FieldPatch): Readonly<FieldDef> {
    const def = this.mustGet(entity, key);
    if (!def.isCustom) throw new WriteRefused(400, 'Built-in fields cannot be changed');
    const before = snapshot(def);
    if (patch.name !== undefined) {
      if (patch.name.trim() === '') throw new WriteRefused(400, 'Validation failed: field_name: Must not be empty');
      def.name = patch.name;
    }
    if (patch.description !== undefined) def.description = patch.description;
    if (patch.ui) Object.assign(def.ui, patch.ui);
    this.touch(def);
    this.record(def, 'update', before);
    return def;
  }

  /** Mark a custom field deleted; its values disappear from the entity's items. */
  delete(entity: FieldEntity | 'lead', key: string): Readonly<FieldDef> {
    const def = this.mustGet(entity, key);
    if (!def.isCustom) throw new WriteRefused(400, 'Built-in fields cannot be deleted');
    const before = snapshot(def);
    def.deletedSec = this.clock.nowSeconds();
    this.touch(def);
    this.record(def, 'delete', before);
    for (const l of this.listeners) l(def.entity, def.key);
    return def;
  }

  addOptions(entity: FieldEntity | 'lead', key: string, labels: readonly string[]): readonly FieldOption[] {
    const def = this.optionField(entity, key);
    const before = snapshot(def);
    const sec = this.clock.nowSeconds();
    def.options = [...def.options!, ...labels.map((l) => this.option(l, sec))];
    return this.optionsChanged(def, before);
  }

  updateOptions(entity: FieldEntity | 'lead', key: string, changes: readonly { id: number; label: string }[]): readonly FieldOption[] {
    const def = this.optionField(entity, key);
    const before = snapshot(def);
    const sec = this.clock.nowSeconds();
    const byId = new Map(def.options!.map((o) => [o.id, o]));
    for (const c of changes) if (!byId.has(c.id)) throw new WriteRefused(400, `Validation failed: options: No option with id ${c.id}`);
    def.options = def.options!.map((o) => {
      const c = changes.find((x) => x.id === o.id);
      return c ? { ...o, label: c.label, updateSec: sec } : o;
    });
    return this.optionsChanged(def, before);
  }

  deleteOptions(entity: FieldEntity | 'lead', key: string, ids: readonly number[]): readonly FieldOption[] {
    const def = this.optionField(entity, key);
    const before = snapshot(def);
    for (const id of ids) if (!def.options!.some((o) => o.id === id)) throw new WriteRefused(400, `Validation failed: options: No option with id ${id}`);
    def.deletedOptions = [...def.deletedOptions, ...def.options!.filter((o) => ids.includes(o.id))];
    def.options = def.options!.filter((o) => !ids.includes(o.id));
    return this.optionsChanged(def, before);
  }

  /**
   * A write body's custom_fields → stored values per key (null = clear). Unknown or deleted keys
   * and values of the wrong shape throw InvalidFieldValue.
   */
  normalizeCustomFields(entity: FieldEntity | 'lead', input: unknown): Record<string, unknown> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new InvalidFieldValue('Validation failed: custom_fields: Expected object');
    }
    const custom = new Map(this.custom(entity).map((d) => [d.key, d]));
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      const def = custom.get(key);
      if (!def) throw new InvalidFieldValue(`Validation failed: custom_fields: Unknown custom field ${key}`);
      out[key] = normalizeValue(def, value);
    }
    return out;
  }

  private build(entity: FieldEntity, key: string, name: string, type: FieldType, o: { isCustom: boolean; optionalResponse: boolean; orderNr: number; sec: number; createdBy: number | null }): FieldDef {
    return {
      id: this.nextFieldId++, entity, key, name, field_type: type, description: null, options: null, deletedOptions: [],
      subfields: subfieldsOf(type, name), isCustom: o.isCustom, optionalResponse: o.optionalResponse, orderNr: o.orderNr,
      addSec: o.sec, updateSec: o.sec, createdByUserId: o.createdBy, lastUpdatedByUserId: o.createdBy, deletedSec: null,
      ui: { add_visible_flag: true, details_visible_flag: true },
      important: { enabled: false, stage_ids: [] },
      required: { enabled: false, stage_ids: [], statuses: {} },
    };
  }

  private option(label: string, sec: number): FieldOption {
    if (label.trim() === '') throw new WriteRefused(400, 'Validation failed: options: label must not be empty');
    return { id: this.nextOptionId++, label, color: null, addSec: sec, updateSec: sec };
  }

  private mustGet(entity: FieldEntity | 'lead', key: string): FieldDef {
    const def = (this.defs.get(catalogEntity(entity)) ?? []).find((d) => d.key === key && d.deletedSec === null);
    if (!def) throw new WriteRefused(404, 'Field not found');
    return def;
  }

  private optionField(entity: FieldEntity | 'lead', key: string): FieldDef {
    const def = this.mustGet(entity, key);
    if (!def.isCustom || def.options === null) throw new WriteRefused(400, 'Only enum and set custom fields have options');
    return def;
  }

  private optionsChanged(def: FieldDef, before: Record<string, unknown>): readonly FieldOption[] {
    this.touch(def);
    this.record(def, 'update', before);
    return def.options!;
  }

  private touch(def: FieldDef): void {
    def.updateSec = this.clock.nowSeconds();
    def.lastUpdatedByUserId = this.actorUserId;
  }

  private record(def: FieldDef, action: 'add' | 'update' | 'delete', before: Record<string, unknown> | null): void {
    this.journal.append({
      itemType: `${def.entity}Field`, id: def.id, action, timeMs: this.clock.nowMs(), userId: this.actorUserId,
      changes: diffFields(before, snapshot(def)),
    });
  }
}

/** The user-visible parts of a field, for journal diffs. */
function snapshot(def: FieldDef): Record<string, unknown> {
  return {
    key: def.key, name: def.name, field_type: def.field_type, description: def.description,
    options: def.options?.map((o) => ({ id: o.id, label: o.label })) ?? null, active_flag: def.deletedSec === null,
  };
}
