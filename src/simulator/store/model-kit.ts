/**
 * Small pieces every v2 entity model shares: immutable empty values (shared by millions of seeded
 * rows instead of one allocation each), custom-field merging, the address object, and contacts.
 */
import type { CustomValues } from './entity-store.ts';

export const EMPTY_IDS: readonly number[] = Object.freeze([]);
export const EMPTY_LIST: readonly never[] = Object.freeze([]);
export const EMPTY_CUSTOM: CustomValues = Object.freeze({});

/** Apply a normalized custom_fields patch: null clears a key; an empty result is the shared {}. */
export function mergeCustom(prev: CustomValues, patch: Readonly<Record<string, unknown>> | undefined): CustomValues {
  if (!patch) return prev;
  const out: Record<string, unknown> = { ...prev };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return Object.keys(out).length === 0 ? EMPTY_CUSTOM : out;
}

/** Changes with undefined entries dropped, so spreading them over a record only sets given fields. */
export function defined<T extends object>(changes: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(changes)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The address object of organizations, person postal addresses and activity locations. */
export const ADDRESS_FIELDS = [
  'value', 'country', 'admin_area_level_1', 'admin_area_level_2', 'locality', 'sublocality', 'route',
  'street_number', 'subpremise', 'postal_code',
] as const;
export type Address = Readonly<Record<(typeof ADDRESS_FIELDS)[number], string | null>>;

/** A full address object from partial parts (missing parts null), in the spec's key order. */
export function makeAddress(parts: Readonly<Partial<Record<string, string | null>>>): Address {
  const out: Record<string, string | null> = {};
  for (const k of ADDRESS_FIELDS) out[k] = parts[k] ?? null;
  return out as Address;
}

/** emails[], phones[], im[] items. */
export interface Contact {
  readonly value: string;
  readonly primary: boolean;
  readonly label: string;
}

/** Exactly one primary contact when there are any (the first, unless one is marked). */
export function withPrimary(list: readonly Contact[]): readonly Contact[] {
  if (list.length === 0) return EMPTY_LIST;
  const primary = Math.max(0, list.findIndex((c) => c.primary));
  return list.map((c, i) => ({ value: c.value, primary: i === primary, label: c.label }));
}
