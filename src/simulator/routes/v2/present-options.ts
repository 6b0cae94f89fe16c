/**
 * Response options of the v2 person/organization/product/activity reads: include_fields (extra
 * fields; counts the simulator does not track are 0/null, as for deals), custom_fields (restrict to
 * ≤15 keys), include_option_labels (enum/set values as {id, label}) and include_labels (label objects).
 */
import type { Request } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { csvQuery } from '../../http/params.ts';
import type { FieldStore } from '../../store/fields.ts';
import type { FieldEntity } from '../../store/fields-builtin.ts';
import { labelOptions } from '../../store/field-values.ts';
import { boolQuery } from './list-params.ts';

type Obj = Record<string, unknown>;
/** include_fields name → its value for a presented item. */
export type Includes = Readonly<Record<string, (item: Obj) => unknown>>;

/** The account's item labels (person/organization label_ids). */
const LABELS: Readonly<Record<number, string>> = { 1: 'Customer', 2: 'Hot lead', 3: 'Warm lead', 4: 'Cold lead', 5: 'Partner' };

export interface PresentSpec {
  entity: FieldEntity;
  fields: FieldStore;
  includes?: Includes;
  /** Whether the operation has custom_fields / include_option_labels / include_labels. */
  customFieldParams: boolean;
}

/** A per-request presenter around `base`; without options it returns `base`'s object unchanged. */
export function presenter<T>(req: Request, spec: PresentSpec, base: (row: T) => Obj): (row: T) => Obj {
  const includes = csvQuery(req, 'include_fields') ?? [];
  for (const f of includes) {
    if (!spec.includes || !(f in spec.includes)) throw badRequest(`Validation failed: include_fields: Unknown field ${f}`);
  }
  const keys = spec.customFieldParams ? csvQuery(req, 'custom_fields') : undefined;
  if (keys && keys.length > 15) throw badRequest('Validation failed: custom_fields: A maximum of 15 keys is allowed');
  const optionLabels = spec.customFieldParams && boolQuery(req, 'include_option_labels') === true;
  const labels = spec.customFieldParams && boolQuery(req, 'include_labels') === true;
  if (includes.length === 0 && !keys && !optionLabels && !labels) return base;

  const defs = new Map(spec.fields.custom(spec.entity).map((d) => [d.key, d]));
  return (row) => {
    const out = { ...base(row) };
    const custom = out['custom_fields'] as Obj | undefined;
    if (custom && (keys || optionLabels)) {
      const entries = Object.entries(custom).filter(([k]) => !keys || keys.includes(k));
      out['custom_fields'] = Object.fromEntries(entries.map(([k, v]) => {
        const def = defs.get(k);
        return [k, optionLabels && def ? labelOptions(def, v) : v];
      }));
    }
    if (labels && Array.isArray(out['label_ids'])) {
      out['labels'] = (out['label_ids'] as number[]).map((id) => ({ id, label: LABELS[id] ?? `Label ${id}` }));
    }
    for (const f of includes) out[f] = spec.includes![f]!(out);
    return out;
  };
}

/** include_fields entries that are counts or times the simulator does not track. */
export function placeholders(zeros: readonly string[], nulls: readonly string[] = []): Record<string, () => unknown> {
  return Object.fromEntries([...zeros.map((f) => [f, () => 0] as const), ...nulls.map((f) => [f, () => null] as const)]);
}
