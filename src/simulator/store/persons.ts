/**
 * v2 persons. Field set and order: the getPersons response schema. The simulated company has contact
 * sync enabled, so postal_address, notes, im, birthday and job_title are returned (null when unset).
 */
import { formatV2 } from '../time.ts';
import { ACCOUNT } from './account.ts';
import type { EntityModel } from './entity-store.ts';
import { EMPTY_CUSTOM, EMPTY_IDS, EMPTY_LIST, defined, mergeCustom, withPrimary, type Address, type Contact } from './model-kit.ts';
import type { Row } from './table.ts';

export interface PersonRecord {
  readonly name: string;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly owner_id: number;
  readonly org_id: number | null;
  readonly emails: readonly Contact[];
  readonly phones: readonly Contact[];
  readonly is_deleted: boolean;
  readonly visible_to: number;
  readonly label_ids: readonly number[];
  readonly picture_id: number | null;
  readonly postal_address: Address | null;
  readonly notes: string | null;
  readonly im: readonly Contact[];
  readonly birthday: string | null;
  readonly job_title: string | null;
  readonly custom_fields: Readonly<Record<string, unknown>>;
}

/** Validated writable fields; custom_fields already normalized (null clears a key). */
export interface PersonChanges {
  name?: string;
  owner_id?: number;
  org_id?: number | null;
  emails?: readonly Contact[];
  phones?: readonly Contact[];
  visible_to?: number;
  label_ids?: readonly number[];
  custom_fields?: Readonly<Record<string, unknown>>;
}

export const PERSON_FIELDS = [
  'id', 'name', 'first_name', 'last_name', 'owner_id', 'org_id', 'add_time', 'update_time', 'emails', 'phones',
  'is_deleted', 'visible_to', 'label_ids', 'picture_id', 'postal_address', 'notes', 'im', 'birthday', 'job_title',
  'custom_fields',
] as const;

/**
 * Markers for a seeded person's one work email / phone, derived from name and id when presented:
 * at 600,000 persons, holding an array, an object and a string each would cost ~150 MB.
 */
export const GENERATED_EMAIL: readonly Contact[] = Object.freeze([]);
export const GENERATED_PHONE: readonly Contact[] = Object.freeze([]);

function contacts(list: readonly Contact[], row: Row<PersonRecord>): readonly Contact[] {
  if (list === GENERATED_EMAIL) {
    const local = `${row.data.first_name ?? 'person'}.${row.data.last_name ?? ''}.${row.id}`.toLowerCase();
    return [{ value: `${local}@example.com`, primary: true, label: 'work' }];
  }
  if (list === GENERATED_PHONE) return [{ value: `+1 555 ${String(row.id % 10_000_000).padStart(7, '0')}`, primary: true, label: 'work' }];
  return list;
}

/** One literal in field order: every record shares one hidden class. */
export function makePerson(f: PersonRecord): PersonRecord {
  return {
    name: f.name, first_name: f.first_name, last_name: f.last_name, owner_id: f.owner_id, org_id: f.org_id,
    emails: f.emails, phones: f.phones, is_deleted: f.is_deleted, visible_to: f.visible_to, label_ids: f.label_ids,
    picture_id: f.picture_id, postal_address: f.postal_address, notes: f.notes, im: f.im, birthday: f.birthday,
    job_title: f.job_title, custom_fields: f.custom_fields,
  };
}

/** "Ada Lovelace King" → first "Ada", last "Lovelace King" (as Pipedrive splits a name). */
export function splitName(name: string): { first_name: string | null; last_name: string | null } {
  const trimmed = name.trim();
  const i = trimmed.indexOf(' ');
  return i < 0 ? { first_name: trimmed, last_name: null } : { first_name: trimmed.slice(0, i), last_name: trimmed.slice(i + 1).trim() };
}

export const personModel: EntityModel<PersonRecord, PersonChanges> = {
  itemType: 'person',
  create(ch) {
    return personModel.apply(makePerson({
      name: '', first_name: null, last_name: null, owner_id: ACCOUNT.tokenUserId, org_id: null, emails: EMPTY_LIST,
      phones: EMPTY_LIST, is_deleted: false, visible_to: 3, label_ids: EMPTY_IDS, picture_id: null, postal_address: null,
      notes: null, im: EMPTY_LIST, birthday: null, job_title: null, custom_fields: EMPTY_CUSTOM,
    }), ch);
  },
  apply(prev, ch) {
    const { custom_fields, emails, phones, ...plain } = ch;
    const names = ch.name !== undefined ? splitName(ch.name) : {};
    return makePerson({
      ...prev, ...defined(plain), ...names,
      emails: emails ? withPrimary(emails) : prev.emails,
      phones: phones ? withPrimary(phones) : prev.phones,
      custom_fields: mergeCustom(prev.custom_fields, custom_fields),
    });
  },
  markDeleted: (prev) => makePerson({ ...prev, is_deleted: true }),
  present: (row: Row<PersonRecord>) => {
    const p = row.data;
    return {
      id: row.id, name: p.name, first_name: p.first_name, last_name: p.last_name, owner_id: p.owner_id, org_id: p.org_id,
      add_time: formatV2(row.addSec), update_time: formatV2(row.updateSec), emails: contacts(p.emails, row),
      phones: contacts(p.phones, row),
      is_deleted: p.is_deleted, visible_to: p.visible_to, label_ids: p.label_ids, picture_id: p.picture_id,
      postal_address: p.postal_address, notes: p.notes, im: p.im, birthday: p.birthday, job_title: p.job_title,
      custom_fields: p.custom_fields,
    };
  },
  customFields: (r) => r.custom_fields,
  withCustomFields: (r, values) => makePerson({ ...r, custom_fields: values }),
};
