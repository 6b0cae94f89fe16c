/**
 * Call logs (v1 only), keyed by a 32-hex id. The list returns only the token user's calls, as the
 * real GET /v1/callLogs does ("call logs assigned to a particular user").
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import { hexIdFor, ID_KIND } from './ids.ts';
import type { Row } from './table.ts';
import { JournaledTable, type OffsetPage } from './v1-base.ts';

export const CALL_OUTCOMES = ['connected', 'no_answer', 'left_message', 'left_voicemail', 'wrong_number', 'busy'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export interface CallLogRecord {
  cid: string;
  user_id: number;
  activity_id: number | null;
  subject: string | null;
  /** Seconds, as a string (the API's type). */
  duration: string;
  outcome: CallOutcome;
  from_phone_number: string | null;
  to_phone_number: string;
  start_sec: number;
  end_sec: number;
  person_id: number | null;
  org_id: number | null;
  deal_id: number | null;
  lead_id: string | null;
  note: string | null;
  has_recording: boolean;
}

export class CallLogStore {
  readonly rows: JournaledTable<CallLogRecord>;
  private readonly byCid = new Map<string, number>();

  constructor(clock: SimClock, journal: EventJournal) {
    this.rows = new JournaledTable<CallLogRecord>(clock, journal, 'callLog', (r) => r.data.cid);
  }

  seed(addSec: number, build: (cid: string) => CallLogRecord): Row<CallLogRecord> {
    const row = this.rows.seed(addSec, addSec, (id) => build(hexIdFor(ID_KIND.callLog, id)));
    this.byCid.set(row.data.cid, row.id);
    return row;
  }

  get(cid: string): Row<CallLogRecord> | undefined {
    const id = this.byCid.get(cid);
    return id === undefined ? undefined : this.rows.live(id);
  }

  /** The user's calls, oldest first. */
  listForUser(userId: number, start: number, limit: number): OffsetPage<CallLogRecord> {
    return this.rows.page({ start, limit, filter: (r) => r.data.user_id === userId });
  }
}
