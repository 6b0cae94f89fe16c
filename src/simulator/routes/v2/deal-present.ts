/**
 * Deal → response object: the v2 field set in spec order, plus what include_fields / custom_fields
 * ask for. source_lead_id is only returned when requested, as the spec documents.
 */
import type { DealCounters } from '../../store/deal-counters.ts';
import type { Deal } from '../../store/deal-model.ts';
import { badRequest } from '../../http/envelope.ts';

/** What a deal's presentation needs beside the deal: kept in other stores. */
export interface DealExtras {
  readonly sourceLeadId: string | null;
  /** The deal's true counters (store/deal-counters.ts); asked for only when an include_field needs them. */
  readonly counters: () => DealCounters;
}

const ZERO: DealCounters = {
  notes_count: 0, files_count: 0, email_messages_count: 0, activities_count: 0, done_activities_count: 0, undone_activities_count: 0,
  participants_count: 0, followers_count: 0, products_count: 0, last_incoming_mail_time: null, last_outgoing_mail_time: null,
};
const NO_EXTRAS: DealExtras = { sourceLeadId: null, counters: () => ZERO };

/**
 * include_fields values → how the simulator fills them. The counters and last mail times are true
 * (derived from the notes, files, mail, activities, participants, followers and products the stores
 * hold); next/last activity ids are not tracked (null). Like every include_field they cost nothing
 * beyond the call (x-token-cost is per operation).
 */
const INCLUDE_FIELDS: Record<string, (d: Deal, x: DealExtras) => unknown> = {
  next_activity_id: () => null,
  last_activity_id: () => null,
  first_won_time: (d) => d.won_time,
  products_count: (_d, x) => x.counters().products_count,
  files_count: (_d, x) => x.counters().files_count,
  notes_count: (_d, x) => x.counters().notes_count,
  followers_count: (_d, x) => x.counters().followers_count,
  email_messages_count: (_d, x) => x.counters().email_messages_count,
  activities_count: (_d, x) => x.counters().activities_count,
  done_activities_count: (_d, x) => x.counters().done_activities_count,
  undone_activities_count: (_d, x) => x.counters().undone_activities_count,
  participants_count: (_d, x) => x.counters().participants_count,
  last_incoming_mail_time: (_d, x) => x.counters().last_incoming_mail_time,
  last_outgoing_mail_time: (_d, x) => x.counters().last_outgoing_mail_time,
  smart_bcc_email: (d) => `deal${d.id}@sim.pipedrivemail.com`,
  source_lead_id: (_d, x) => x.sourceLeadId,
};

export interface PresentOptions {
  includeFields: string[];
  /** Restrict custom_fields to these keys (max 15). */
  customFieldKeys: string[] | undefined;
}

export function parsePresentOptions(includeFields: string[] | undefined, customFields: string[] | undefined): PresentOptions {
  for (const f of includeFields ?? []) {
    if (!(f in INCLUDE_FIELDS)) throw badRequest(`Validation failed: include_fields: Unknown field ${f}`);
  }
  if (customFields && customFields.length > 15) throw badRequest('Validation failed: custom_fields: A maximum of 15 keys is allowed');
  return { includeFields: includeFields ?? [], customFieldKeys: customFields };
}

export const DEFAULT_PRESENT: PresentOptions = { includeFields: [], customFieldKeys: undefined };

/**
 * The deal as returned. Without options this is the stored object itself (deals are immutable once
 * stored), which keeps large list pages cheap; options produce a copy.
 */
export function presentDeal(d: Deal, opts: PresentOptions = DEFAULT_PRESENT, extras: DealExtras = NO_EXTRAS): object {
  const keys = opts.customFieldKeys;
  if (opts.includeFields.length === 0 && keys === undefined) return d;
  const out: Record<string, unknown> = { ...d };
  if (keys) out['custom_fields'] = Object.fromEntries(keys.filter((k) => k in d.custom_fields).map((k) => [k, d.custom_fields[k]]));
  let counters: DealCounters | undefined;
  const once: DealExtras = { sourceLeadId: extras.sourceLeadId, counters: () => (counters ??= extras.counters()) };
  for (const f of opts.includeFields) out[f] = INCLUDE_FIELDS[f]!(d, once);
  return out;
}
