/**
 * The v2 Deal object and the rules that derive its fields (status times, stage change time, ...).
 * Field set: the getDeals/getDeal response schema of the v2 spec plus the fields its examples show
 * (creator_user_id, archive_time, local_*_date). source_lead_id, returned only on request, is kept by
 * the store beside the deal.
 *
 * Stored deals are already in response shape and never mutated once stored (changes build a new
 * object), so a list page serializes them as they are. Build them with one object literal in
 * DEAL_FIELDS order: V8 keeps such objects compact and fast to serialize.
 */
import { ACCOUNT, firstStageOf, pipelineOfStage } from './account.ts';
import { formatDate, formatV2 } from '../time.ts';

export type DealStatus = 'open' | 'won' | 'lost' | 'deleted';
export const DEAL_STATUSES: readonly DealStatus[] = ['open', 'won', 'lost', 'deleted'];

export interface Deal {
  id: number;
  title: string;
  creator_user_id: number;
  owner_id: number;
  value: number;
  person_id: number | null;
  org_id: number | null;
  stage_id: number;
  pipeline_id: number;
  currency: string;
  archive_time: string | null;
  add_time: string;
  update_time: string;
  stage_change_time: string | null;
  status: DealStatus;
  is_archived: boolean;
  is_deleted: boolean;
  probability: number | null;
  lost_reason: string | null;
  visible_to: number;
  close_time: string | null;
  won_time: string | null;
  lost_time: string | null;
  local_won_date: string | null;
  local_lost_date: string | null;
  local_close_date: string | null;
  expected_close_date: string | null;
  label_ids: number[];
  origin: string;
  origin_id: string | null;
  channel: number | null;
  channel_id: string | null;
  acv: number | null;
  arr: number | null;
  mrr: number | null;
  custom_fields: Record<string, unknown>;
}

/** Every field of a returned deal, in response order. */
export const DEAL_FIELDS = [
  'id', 'title', 'creator_user_id', 'owner_id', 'value', 'person_id', 'org_id', 'stage_id', 'pipeline_id',
  'currency', 'archive_time', 'add_time', 'update_time', 'stage_change_time', 'status', 'is_archived',
  'is_deleted', 'probability', 'lost_reason', 'visible_to', 'close_time', 'won_time', 'lost_time',
  'local_won_date', 'local_lost_date', 'local_close_date', 'expected_close_date', 'label_ids', 'origin',
  'origin_id', 'channel', 'channel_id', 'acv', 'arr', 'mrr', 'custom_fields',
] as const satisfies readonly (keyof Deal)[];

/** Validated writable fields (from a POST/PATCH body or a test). Times are epoch seconds. */
export interface DealChanges {
  title?: string;
  owner_id?: number;
  person_id?: number | null;
  org_id?: number | null;
  pipeline_id?: number;
  stage_id?: number;
  value?: number;
  currency?: string;
  status?: 'open' | 'won' | 'lost';
  probability?: number | null;
  lost_reason?: string | null;
  visible_to?: number;
  expected_close_date?: string | null;
  label_ids?: number[];
  custom_fields?: Record<string, unknown>;
  is_archived?: boolean;
  archive_time?: number | null;
  won_time?: number;
  lost_time?: number;
  close_time?: number | null;
  origin_id?: string | null;
  channel?: number | null;
  channel_id?: string | null;
  source_lead_id?: string | null;
}

/** A fresh open deal with the account's defaults; `applyChanges` fills in the rest. */
export function blankDeal(id: number, title: string, nowSec: number, origin: string): Deal {
  const now = formatV2(nowSec);
  return makeDeal({
    id, title, creator_user_id: ACCOUNT.tokenUserId, owner_id: ACCOUNT.tokenUserId, value: 0,
    person_id: null, org_id: null, stage_id: firstStageOf(1) ?? 1, pipeline_id: 1,
    currency: ACCOUNT.defaultCurrency, archive_time: null, add_time: now, update_time: now,
    stage_change_time: null, status: 'open', is_archived: false, is_deleted: false, probability: null,
    lost_reason: null, visible_to: 3, close_time: null, won_time: null, lost_time: null,
    local_won_date: null, local_lost_date: null, local_close_date: null, expected_close_date: null,
    label_ids: [], origin, origin_id: null, channel: null, channel_id: null,
    acv: null, arr: null, mrr: null, custom_fields: {},
  });
}

/** Copy into one literal in DEAL_FIELDS order (stable shape and key order, whatever the input's). */
export function makeDeal(f: Deal): Deal {
  return {
    id: f.id, title: f.title, creator_user_id: f.creator_user_id, owner_id: f.owner_id, value: f.value,
    person_id: f.person_id, org_id: f.org_id, stage_id: f.stage_id, pipeline_id: f.pipeline_id,
    currency: f.currency, archive_time: f.archive_time, add_time: f.add_time, update_time: f.update_time,
    stage_change_time: f.stage_change_time, status: f.status, is_archived: f.is_archived,
    is_deleted: f.is_deleted, probability: f.probability, lost_reason: f.lost_reason, visible_to: f.visible_to,
    close_time: f.close_time, won_time: f.won_time, lost_time: f.lost_time, local_won_date: f.local_won_date,
    local_lost_date: f.local_lost_date, local_close_date: f.local_close_date,
    expected_close_date: f.expected_close_date, label_ids: f.label_ids, origin: f.origin,
    origin_id: f.origin_id, channel: f.channel, channel_id: f.channel_id, acv: f.acv, arr: f.arr, mrr: f.mrr,
    custom_fields: f.custom_fields,
  };
}

/** Apply changes the way Pipedrive derives dependent fields; returns a new object, update_time = now. */
export function applyChanges(prev: Deal, ch: DealChanges, nowSec: number): Deal {
  const now = formatV2(nowSec);
  const d = makeDeal({ ...prev, label_ids: [...prev.label_ids], custom_fields: { ...prev.custom_fields } });
  const simple = ['title', 'owner_id', 'person_id', 'org_id', 'value', 'currency', 'probability', 'lost_reason',
    'visible_to', 'expected_close_date', 'origin_id', 'channel', 'channel_id'] as const;
  for (const k of simple) if (ch[k] !== undefined) (d as unknown as Record<string, unknown>)[k] = ch[k];
  if (ch.label_ids) d.label_ids = [...ch.label_ids];
  if (ch.custom_fields) Object.assign(d.custom_fields, ch.custom_fields);

  // A stage implies its pipeline; a new pipeline without a stage starts at its first stage.
  if (ch.stage_id !== undefined) {
    d.stage_id = ch.stage_id;
    d.pipeline_id = ch.pipeline_id ?? pipelineOfStage(ch.stage_id) ?? d.pipeline_id;
  } else if (ch.pipeline_id !== undefined && ch.pipeline_id !== prev.pipeline_id) {
    d.pipeline_id = ch.pipeline_id;
    d.stage_id = firstStageOf(ch.pipeline_id) ?? d.stage_id;
  }
  if (d.stage_id !== prev.stage_id) d.stage_change_time = now;

  if (ch.status !== undefined && ch.status !== prev.status) {
    d.status = ch.status;
    d.won_time = ch.status === 'won' ? now : null;
    d.lost_time = ch.status === 'lost' ? now : null;
    d.close_time = ch.status === 'open' ? null : now;
    if (ch.status !== 'lost' && ch.lost_reason === undefined) d.lost_reason = null;
  }
  if (ch.won_time !== undefined) d.won_time = formatV2(ch.won_time);
  if (ch.lost_time !== undefined) d.lost_time = formatV2(ch.lost_time);
  if (ch.close_time !== undefined) d.close_time = ch.close_time === null ? null : formatV2(ch.close_time);

  if (ch.is_archived !== undefined) {
    d.is_archived = ch.is_archived;
    d.archive_time = ch.is_archived ? (prev.archive_time ?? now) : null;
  }
  if (ch.archive_time !== undefined && d.is_archived) {
    d.archive_time = ch.archive_time === null ? null : formatV2(ch.archive_time);
  }
  d.update_time = now;
  return withLocalDates(d);
}

/** local_*_date mirror the times as dates (the simulated company's timezone is UTC). */
export function withLocalDates(d: Deal): Deal {
  const date = (t: string | null): string | null => (t === null ? null : formatDate(Date.parse(t) / 1000));
  d.local_won_date = date(d.won_time);
  d.local_lost_date = date(d.lost_time);
  d.local_close_date = date(d.close_time);
  return d;
}
