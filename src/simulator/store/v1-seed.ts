/**
 * Seeded v1 data in proportion to the seeded deals: notes, files, leads, call logs, mail, projects,
 * tasks and goals. Same seed + same clock instant → the same account. Attached rows fall between
 * their deal's add time and now; ids ascend with add time as in Pipedrive. Records are compact and
 * strings come from small shared pools, so a 1,000,000-deal account stays within its memory budget.
 */
import { Rng } from '../prng.ts';
import { ACCOUNT } from './account.ts';
import { CALL_OUTCOMES } from './call-logs.ts';
import { reportIdFor } from './company.ts';
import { GOAL_TYPES } from './goals.ts';
import type { SimStore } from './index.ts';
import type { MailParty } from './mail.ts';
import type { Row } from './table.ts';
import { formatDate } from '../time.ts';

const DAY = 86_400;
/** Per seeded deal (realistic small-company ratios). */
export const V1_RATIOS = { notes: 0.3, files: 0.05, leads: 0.05, callLogs: 0.05, mailThreads: 0.1, projects: 0.005 } as const;

const NOTES = ['<p>Called, left a voicemail.</p>', '<p>Sent the proposal; follow up next week.</p>', '<p>Budget confirmed for Q3.</p>',
  '<p>Needs sign-off from legal.</p>', '<p>Demo went well, asked for pricing tiers.</p>', '<p>Champion moved to another team.</p>',
  '<p>Requested a security questionnaire.</p>', '<p>Prefers annual billing.</p>'];
const FILES = ['proposal.pdf', 'pricing.xlsx', 'contract.docx', 'screenshot.png', 'notes.txt', 'quote.pdf'];
const LEADS = ['Inbound demo request', 'Webinar attendee', 'Referral', 'Trade show contact', 'Pricing page visitor', 'Cold outreach reply'];
const SUBJECTS = ['Re: Proposal', 'Intro call', 'Pricing question', 'Contract draft', 'Next steps', 'Meeting notes'];
const SNIPPETS = new Map(SUBJECTS.map((s) => [s, `${s} …`]));
const NO_PARTIES: readonly MailParty[] = Object.freeze([]);
const PROJECTS = ['Onboarding', 'Implementation', 'Data migration', 'Rollout', 'Training'];
const TASKS = ['Kick-off call', 'Collect requirements', 'Configure account', 'Import data', 'Sign-off'];

export function seedV1(store: SimStore, seed: number, deals: number): void {
  const rng = new Rng((seed ^ 0x0b1e55ed) >>> 0);
  const nowSec = store.clock.nowSeconds();
  const dealRows = store.deals.table.all();
  if (dealRows.length === 0) return;
  /** `n` (time, deal) pairs: a random deal and a time between its add time and now, ascending. */
  const attached = (n: number): [number, Row<unknown>][] =>
    Array.from({ length: n }, (): [number, Row<unknown>] => {
      const d = rng.pick(dealRows);
      return [rng.int(d.addSec, nowSec), d];
    }).sort((a, b) => a[0] - b[0]);
  const count = (ratio: number): number => Math.max(1, Math.round(deals * ratio));
  const user = (): number => rng.pick(ACCOUNT.userIds);
  // Links point at the seeded persons/organizations (seedAccount runs first).
  const persons = store.persons.table.size;
  const orgs = store.organizations.table.size;
  const person = (): number | null => (persons > 0 ? rng.int(1, persons) : null);
  const org = (): number | null => (orgs > 0 ? rng.int(1, orgs) : null);
  const v1 = store.v1;

  for (const [t, d] of attached(count(V1_RATIOS.notes))) {
    const personId = rng.chance(0.2) ? person() : null;
    const onDeal = personId === null;
    const u = user();
    v1.notes.rows.seed(t, rng.chance(0.2) ? rng.int(t, nowSec) : t, () => ({
      content: rng.pick(NOTES), user_id: u, last_update_user_id: u, deal_id: onDeal ? d.id : null,
      person_id: personId, org_id: null, lead_id: null, project_id: null, task_id: null,
      pinned: onDeal && rng.chance(0.1) ? 2 : 0, active_flag: true,
    }));
  }

  for (const [t, d] of attached(count(V1_RATIOS.files))) {
    const fileName = rng.pick(FILES);
    v1.files.rows.seed(t, t, () => ({
      user_id: user(), deal_id: d.id, person_id: null, org_id: null, product_id: null, activity_id: null, lead_id: null,
      mail_message_id: null, file_name: fileName, file_type: fileName.endsWith('.png') ? 'img' : fileName.split('.').pop()!,
      file_size: rng.int(1, 5000) * 1024, remote_location: 's3', name: fileName, description: '', active_flag: true,
    }));
  }

  const labels = v1.leads.labelList().map((l) => l.data.uuid);
  const leadTimes = Array.from({ length: count(V1_RATIOS.leads) }, () => nowSec - rng.int(0, 90 * DAY)).sort((a, b) => a - b);
  for (const t of leadTimes) {
    const owner = user();
    v1.leads.seed(t, rng.int(t, nowSec), (uuid) => ({
      uuid, title: rng.pick(LEADS), owner_id: owner, creator_id: owner, label_ids: rng.chance(0.5) ? [rng.pick(labels)] : [],
      person_id: person(), organization_id: rng.chance(0.6) ? org() : null, source_name: 'Manually created',
      origin: 'ManuallyCreated', origin_id: null, channel: null, channel_id: null, source_deal_id: null, is_archived: rng.chance(0.1),
      was_seen: rng.chance(0.7), amount: rng.chance(0.6) ? rng.int(1, 200) * 100 : null, currency: ACCOUNT.defaultCurrency,
      expected_close_date: rng.chance(0.3) ? formatDate(t + rng.int(10, 120) * DAY) : null, next_activity_id: null,
      visible_to: '3', custom: null,
    }));
  }

  for (const [t, d] of attached(count(V1_RATIOS.callLogs))) {
    const duration = rng.int(0, 1800);
    v1.callLogs.seed(t, (cid) => ({
      cid, user_id: user(), activity_id: null, subject: 'Call', duration: String(duration), outcome: rng.pick(CALL_OUTCOMES),
      from_phone_number: '+3725550100', to_phone_number: `+1555${String(rng.int(0, 9_999_999)).padStart(7, '0')}`,
      start_sec: t, end_sec: t + duration, person_id: null, org_id: null, deal_id: d.id, lead_id: null, note: null, has_recording: rng.chance(0.2),
    }));
  }

  seedMail(store, rng, attached(count(V1_RATIOS.mailThreads)), nowSec);
  seedProjects(store, rng, count(V1_RATIOS.projects), nowSec);

  // Goals: a couple per user plus one company goal; this quarter's dates.
  const qStart = formatDate(nowSec - 45 * DAY);
  const qEnd = formatDate(nowSec + 45 * DAY);
  for (const [i, assignee] of [0, ...ACCOUNT.userIds].entries()) {
    v1.goals.seed(nowSec - 60 * DAY + i * 3600, (gid) => ({
      gid, owner_id: ACCOUNT.tokenUserId, title: assignee === 0 ? 'Company revenue' : `Quarterly target #${assignee}`,
      type_name: assignee === 0 ? 'deals_won' : rng.pick(GOAL_TYPES), pipeline_ids: null, activity_type_ids: null, stage_id: null,
      assignee_type: assignee === 0 ? 'company' : 'person', assignee_id: assignee === 0 ? 1 : assignee, interval: 'quarterly',
      start: qStart, end: qEnd, target: assignee === 0 ? 1_000_000 : rng.int(5, 50), tracking_metric: assignee === 0 ? 'sum' : 'quantity',
      currency_id: assignee === 0 ? 1 : null, is_active: true, report_ids: [reportIdFor(i + 1)],
    }));
  }
}

function seedMail(store: SimStore, rng: Rng, threads: [number, Row<unknown>][], nowSec: number): void {
  const { mail } = store.v1;
  const persons = store.persons.table.size;
  const mine = ACCOUNT.userIds.map((u): MailParty => ({ email_address: `user${u}@sim.example`, name: `User ${u}`, linked_person_id: null }));
  const party = (n: number): MailParty => ({ email_address: `contact${n}@customer.example`, name: `Contact ${n}`, linked_person_id: persons >= n ? n : null });
  for (const [t, d] of threads) {
    const owner = rng.pick(ACCOUNT.userIds);
    const subject = rng.pick(SUBJECTS);
    const thread = mail.threads.seed(t, t, () => ({ deal_id: d.id, user_id: owner, subject }));
    const me = mine[owner - 1]!;
    const other = party(rng.int(1, 500));
    const [toMe, toOther] = [[me], [other]]; // shared by the thread's messages
    let at = t;
    for (let i = rng.int(1, 3); i > 0 && at <= nowSec; i--) {
      const sent = rng.chance(0.5);
      mail.messages.seed(at, at, () => ({
        mail_thread_id: thread.id, deal_id: d.id, user_id: owner, subject, snippet: SNIPPETS.get(subject)!,
        from: sent ? me : other, to: sent ? toOther : toMe, cc: NO_PARTIES, sent, read: true, has_attachments: rng.chance(0.1), deleted: false, message_sec: at,
      }));
      at += rng.int(600, 3 * DAY);
    }
  }
}

function seedProjects(store: SimStore, rng: Rng, count: number, nowSec: number): void {
  const { projects } = store.v1;
  for (let i = 0; i < count; i++) {
    const t = nowSec - 90 * DAY + Math.floor(((i + rng.float()) * 90 * DAY) / count);
    const status = rng.weighted([['open', 70], ['completed', 20], ['canceled', 10]] as const);
    const owner = rng.pick(ACCOUNT.userIds);
    const p = projects.projects.seed(t, rng.int(t, nowSec), () => ({
      title: `${rng.pick(PROJECTS)} ${i + 1}`, board_id: 1, phase_id: rng.int(1, 4), description: '', status, owner_id: owner,
      start_date: formatDate(t), end_date: formatDate(t + rng.int(14, 90) * DAY), deal_ids: [], org_id: null, person_id: null,
      labels: [], status_change_sec: status === 'open' ? null : rng.int(t, nowSec), archive_sec: null,
    }));
    for (const title of TASKS.slice(0, rng.int(2, TASKS.length))) {
      const done = rng.chance(0.4) ? 1 : 0;
      projects.tasks.seed(t, t, () => ({
        title, project_id: p.id, description: '', parent_task_id: null, assignee_id: owner, assignee_ids: [owner], done,
        due_date: formatDate(t + rng.int(1, 30) * DAY), creator_id: owner, marked_as_done_sec: done ? rng.int(t, nowSec) : null,
      }));
    }
  }
}
