/**
 * Journal diffs where custom fields count one by one: a change to custom_fields["<hash>"] is a field
 * change named by the hash, as Pipedrive's changelog and flow report it (field_key = the hash).
 */
import { diffFields, type FieldChange } from './events.ts';

type Flat = Readonly<Record<string, unknown>>;

function flatten(obj: Flat): Record<string, unknown> {
  const { custom_fields: custom, ...rest } = obj;
  if (custom === null || typeof custom !== 'object') return rest;
  return { ...rest, ...(custom as Flat) };
}

/** Like diffFields, with custom_fields spread into hash-keyed fields (a cleared value → null). */
export function diffWithCustomFields(before: Flat | null, after: Flat, ignore: ReadonlySet<string> = new Set()): FieldChange[] {
  const b = before === null ? null : flatten(before);
  const a = flatten(after);
  // Keys that vanished from custom_fields were cleared: report them as → null.
  if (b) for (const k of Object.keys(b)) if (!(k in a)) a[k] = null;
  return diffFields(b, a, ignore);
}
