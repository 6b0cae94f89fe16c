/**
 * Deal → response object: the v2 field set in spec order, plus what include_fields / custom_fields
 * ask for. source_lead_id is only returned when requested, as the spec documents.
 */
import type { Deal } from '../../store/deal-model.ts';
import { badRequest } from '../../http/envelope.ts';

/** What a deal's presentation needs beside the deal: kept in other stores. */
export interface DealExtras {
  readonly sourceLeadId: string | null;
  readonly participants: number;
  readonly followers: number;
}

const NO_EXTRAS: DealExtras = { sourceLeadId: null, participants: 0, followers: 0 };

/**
 * include_fields values → how the simulator fills them. Participants and followers are counted; the
 * activity, note, file, product and mail counters are not tracked (0 / null).
 */
const INCLUDE_FIELDS: Record<string, (d: Deal, x: DealExtras) => unknown> = {
  next_activity_id: () => null,
  last_activity_id: () => null,
  first_won_time: (d) => d.won_time,
  products_count: () => 0,
  files_count: () => 0,
  notes_count: () => 0,
  followers_count: (_d, x) => x.followers,
  email_messages_count: () => 0,
  activities_count: () => 0,
  done_activities_count: () => 0,
  undone_activities_count: () => 0,
  participants_count: (_d, x) => x.participants,
  last_incoming_mail_time: () => null,
  last_outgoing_mail_time: () => null,
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
  for (const f of opts.includeFields) out[f] = INCLUDE_FIELDS[f]!(d, extras);
  return out;
}
