/**
 * v2 activities. Field set and order: the getActivities response schema (attendees only with
 * include_fields=attendees), plus custom_fields (activityFields lists custom activity fields; Fivetran's
 * ACTIVITY table has custom_* columns).
 *
 * Activities are the most numerous rows (about two per deal), so the record is kept small: fields that
 * are rarely set live in one `extra` object (null for most rows), and participants default to the
 * primary person instead of holding an array per row.
 */
import { formatV2 } from '../time.ts';
import { ACCOUNT } from './account.ts';
import type { EntityModel } from './entity-store.ts';
import { EMPTY_CUSTOM, EMPTY_LIST, defined, mergeCustom, type Address } from './model-kit.ts';
import type { Row } from './table.ts';

export interface Participant {
  readonly person_id: number;
  readonly primary: boolean;
}

export interface Attendee {
  readonly email: string;
  readonly name: string | null;
  readonly status: string | null;
  readonly is_organizer: boolean;
  readonly person_id: number | null;
  readonly user_id: number | null;
}

/** Rarely set fields, together so that most records hold a single null. */
export interface ActivityExtra {
  readonly lead_id: string | null;
  readonly project_id: number | null;
  readonly location: Address | null;
  readonly attendees: readonly Attendee[];
  readonly conference_meeting_client: string | null;
  readonly conference_meeting_url: string | null;
  readonly conference_meeting_id: string | null;
  readonly public_description: string | null;
  readonly priority: number | null;
  readonly note: string | null;
}

export interface ActivityRecord {
  readonly subject: string;
  readonly type: string;
  readonly owner_id: number;
  readonly creator_user_id: number;
  readonly is_deleted: boolean;
  readonly deal_id: number | null;
  readonly person_id: number | null;
  readonly org_id: number | null;
  readonly due_date: string | null;
  readonly due_time: string | null;
  readonly duration: string | null;
  readonly busy: boolean;
  readonly done: boolean;
  /** Epoch seconds; null while not done. */
  readonly marked_as_done_sec: number | null;
  /** null: just the primary person (person_id), if any. */
  readonly participants: readonly Participant[] | null;
  readonly extra: ActivityExtra | null;
  readonly custom_fields: Readonly<Record<string, unknown>>;
}

type ExtraChanges = { [K in keyof ActivityExtra]?: ActivityExtra[K] };

export interface ActivityChanges extends ExtraChanges {
  subject?: string;
  type?: string;
  owner_id?: number;
  deal_id?: number | null;
  person_id?: number | null;
  org_id?: number | null;
  due_date?: string | null;
  due_time?: string | null;
  duration?: string | null;
  busy?: boolean;
  done?: boolean;
  participants?: readonly Participant[];
  custom_fields?: Readonly<Record<string, unknown>>;
}

export const ACTIVITY_FIELDS = [
  'id', 'subject', 'type', 'owner_id', 'creator_user_id', 'is_deleted', 'add_time', 'update_time', 'deal_id', 'lead_id',
  'person_id', 'org_id', 'project_id', 'due_date', 'due_time', 'duration', 'busy', 'done', 'marked_as_done_time',
  'location', 'participants', 'conference_meeting_client', 'conference_meeting_url', 'conference_meeting_id',
  'public_description', 'priority', 'note', 'custom_fields',
] as const;

const NO_EXTRA: ActivityExtra = Object.freeze({
  lead_id: null, project_id: null, location: null, attendees: EMPTY_LIST, conference_meeting_client: null,
  conference_meeting_url: null, conference_meeting_id: null, public_description: null, priority: null, note: null,
});
const EXTRA_KEYS = Object.keys(NO_EXTRA) as (keyof ActivityExtra)[];

export function makeActivity(f: ActivityRecord): ActivityRecord {
  return {
    subject: f.subject, type: f.type, owner_id: f.owner_id, creator_user_id: f.creator_user_id, is_deleted: f.is_deleted,
    deal_id: f.deal_id, person_id: f.person_id, org_id: f.org_id, due_date: f.due_date, due_time: f.due_time,
    duration: f.duration, busy: f.busy, done: f.done, marked_as_done_sec: f.marked_as_done_sec,
    participants: f.participants, extra: f.extra, custom_fields: f.custom_fields,
  };
}

/** The participants as returned: explicit ones, else the primary person. */
export function participantsOf(a: ActivityRecord): readonly Participant[] {
  if (a.participants) return a.participants;
  return a.person_id === null ? EMPTY_LIST : [{ person_id: a.person_id, primary: true }];
}

/** `nowSec` for marked_as_done_time when a write marks the activity done. */
export function activityModel(nowSec: () => number): EntityModel<ActivityRecord, ActivityChanges> {
  const model: EntityModel<ActivityRecord, ActivityChanges> = {
    itemType: 'activity',
    create(ch) {
      return model.apply(makeActivity({
        subject: '', type: 'task', owner_id: ACCOUNT.tokenUserId, creator_user_id: ACCOUNT.tokenUserId, is_deleted: false,
        deal_id: null, person_id: null, org_id: null, due_date: null, due_time: null, duration: null, busy: false,
        done: false, marked_as_done_sec: null, participants: null, extra: null, custom_fields: EMPTY_CUSTOM,
      }), ch);
    },
    apply(prev, ch) {
      const { custom_fields, participants, ...rest } = ch;
      const extraPatch: Record<string, unknown> = {};
      const plain: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(defined(rest))) ((EXTRA_KEYS as string[]).includes(k) ? extraPatch : plain)[k] = v;
      const extra = Object.keys(extraPatch).length ? ({ ...(prev.extra ?? NO_EXTRA), ...extraPatch } as ActivityExtra) : prev.extra;
      const next = makeActivity({
        ...prev, ...(plain as Partial<ActivityRecord>), extra,
        custom_fields: mergeCustom(prev.custom_fields, custom_fields),
        marked_as_done_sec: plain['done'] === undefined ? prev.marked_as_done_sec : plain['done'] ? (prev.done ? prev.marked_as_done_sec : nowSec()) : null,
      });
      // Explicit participants decide the primary person; a bare person_id makes that person the only one.
      if (participants) {
        const primary = participants.find((p) => p.primary) ?? participants[0];
        const list = participants.map((p) => ({ person_id: p.person_id, primary: p === primary }));
        return makeActivity({ ...next, participants: list, person_id: primary?.person_id ?? null });
      }
      return ch.person_id === undefined ? next : makeActivity({ ...next, participants: null });
    },
    markDeleted: (prev) => makeActivity({ ...prev, is_deleted: true }),
    // The journal sees attendees too; routes present them only on request.
    present: (row) => presentActivity(row, true),
    extraKeys: { due_date: (r) => r.data.due_date },
    customFields: (r) => r.custom_fields,
    withCustomFields: (r, values) => makeActivity({ ...r, custom_fields: values }),
  };
  return model;
}

export function presentActivity(row: Row<ActivityRecord>, withAttendees: boolean): Record<string, unknown> {
  const a = row.data;
  const x = a.extra ?? NO_EXTRA;
  const out: Record<string, unknown> = {
    id: row.id, subject: a.subject, type: a.type, owner_id: a.owner_id, creator_user_id: a.creator_user_id,
    is_deleted: a.is_deleted, add_time: formatV2(row.addSec), update_time: formatV2(row.updateSec), deal_id: a.deal_id,
    lead_id: x.lead_id, person_id: a.person_id, org_id: a.org_id, project_id: x.project_id, due_date: a.due_date,
    due_time: a.due_time, duration: a.duration, busy: a.busy, done: a.done,
    marked_as_done_time: a.marked_as_done_sec === null ? null : formatV2(a.marked_as_done_sec), location: x.location,
    participants: participantsOf(a), conference_meeting_client: x.conference_meeting_client,
    conference_meeting_url: x.conference_meeting_url, conference_meeting_id: x.conference_meeting_id,
    public_description: x.public_description, priority: x.priority, note: x.note, custom_fields: a.custom_fields,
  };
  if (withAttendees) out['attendees'] = x.attendees;
  return out;
}
