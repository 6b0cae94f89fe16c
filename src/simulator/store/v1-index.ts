/**
 * The v1-only entity stores of one simulated company. The account's fixed setup (users, activity
 * types, lead labels, saved filters) is created here, dated 400 days before the clock's now so it
 * stays outside the 30-day recents window; proportional data comes from v1-seed.ts.
 */
import type { SimClock } from '../clock.ts';
import { ActivityTypeStore } from './activity-types.ts';
import { CallLogStore } from './call-logs.ts';
import type { EventJournal } from './events.ts';
import type { FieldStore } from './fields.ts';
import { FileStore } from './files.ts';
import { FilterStore } from './filters.ts';
import { GoalStore } from './goals.ts';
import { LeadStore } from './leads.ts';
import { MailStore } from './mail.ts';
import { NoteStore } from './notes.ts';
import { ProjectStore } from './projects.ts';
import { UserStore } from './users.ts';

export const ACCOUNT_AGE_SEC = 400 * 24 * 3600;

export interface V1Stores {
  readonly users: UserStore;
  readonly activityTypes: ActivityTypeStore;
  readonly notes: NoteStore;
  readonly files: FileStore;
  readonly filters: FilterStore;
  readonly leads: LeadStore;
  readonly goals: GoalStore;
  readonly callLogs: CallLogStore;
  readonly projects: ProjectStore;
  readonly mail: MailStore;
}

export function createV1Stores(clock: SimClock, journal: EventJournal, fields?: FieldStore): V1Stores {
  const baseSec = clock.nowSeconds() - ACCOUNT_AGE_SEC;
  const leads = new LeadStore(clock, journal, baseSec);
  // Leads use the deal fields: a deleted deal field's values leave the leads too.
  fields?.onDeleted((entity, key) => {
    if (entity === 'deal') leads.dropCustomField(key);
  });
  return {
    users: new UserStore(clock, journal, baseSec),
    activityTypes: new ActivityTypeStore(clock, journal, baseSec),
    notes: new NoteStore(clock, journal),
    files: new FileStore(clock, journal),
    filters: new FilterStore(clock, journal, baseSec),
    leads,
    goals: new GoalStore(clock, journal),
    callLogs: new CallLogStore(clock, journal),
    projects: new ProjectStore(clock, journal),
    mail: new MailStore(clock, journal),
  };
}
