/**
 * Every v1 operation the simulator serves answers in the shape the official v1 spec documents:
 * lists (full and empty pages), single items, writes, and error bodies validate against the
 * operation's response schema with only the V1_DEVIATIONS of spec-deviations.ts applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V1_OPERATIONS } from '../../src/simulator/routes/v1/index.ts';
import { ACCOUNT } from '../../src/simulator/store/account.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { startFrozen, T0_SEC, type Reply } from './helpers.ts';
import { V1_DEVIATIONS } from './spec-deviations.ts';
import { compileV1, locate, relax, v1ResponseSchema } from './v1-spec.ts';
import { v1Client, v1Time, type Json, type V1Client } from './v1-helpers.ts';
import type { Validator } from './spec.ts';

let sim: Simulator;
let api: V1Client;
const validators = new Map<string, Validator>();
const validated = new Set<string>();

/** The operation's schema with its deviations applied (each deviation must still match the spec). */
function validatorFor(op: string, status: string): Validator {
  const key = `${op} ${status}`;
  let v = validators.get(key);
  if (!v) {
    const [base, item] = op.split('@') as [string, string | undefined];
    let schema = structuredClone(v1ResponseSchema(base, status));
    for (const d of V1_DEVIATIONS.filter((x) => x.ops.includes(base) && (x.status ?? '200') === status)) {
      for (const f of d.fields) schema = relax(schema, d.at, f, d.relax);
    }
    v = compileV1(item ? locate(schema, `data[]@${item}`)[0]! : schema);
    validators.set(key, v);
  }
  return v;
}

type AjvError = { instancePath: string; message?: string; params?: unknown };

/** Compact, deduplicated error lines: operation, instance path (indexes as *), message. */
function problems(op: string, v: Validator, body: unknown): string[] {
  if (v(body)) return [];
  const lines = (v.errors as AjvError[]).map((e) => `${op} ${e.instancePath.replace(/\/\d+/g, '/*')} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  return [...new Set(lines)];
}

/** Recents items are validated against their own anyOf branch (readable failures). */
function recentsProblems(body: { data?: { item: string }[] }): string[] {
  const { data = [], ...envelope } = body;
  const out = problems('getRecents', validatorFor('getRecents', '200'), { ...envelope, data: [] });
  for (const item of new Set(data.map((d) => d.item))) {
    const v = validatorFor(`getRecents@${item}`, '200');
    for (const d of data.filter((x) => x.item === item)) out.push(...problems(`getRecents@${item}`, v, d));
  }
  return [...new Set(out)];
}

function check(op: string, r: Reply<unknown>, status = 200, schemaOp = op): void {
  expect(r.status, `${op}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(status);
  // Error bodies are checked against the spec's one v1 error schema (a 404's).
  const schemaStatus = status >= 400 ? '404' : String(status);
  const errors = schemaOp === 'getRecents' ? recentsProblems(r.body as never) : problems(op, validatorFor(schemaOp, schemaStatus), r.body);
  expect(errors, `${op} ${status}`).toEqual([]);
  if (status < 300) validated.add(op);
}

const ERROR_SCHEMA = 'getLead'; // the v1 spec's error body: {success, error, error_info, data, additional_data}

beforeAll(async () => {
  sim = await startFrozen({ deals: 150 });
  api = v1Client(sim);
  // Parsing the 1.7 MB spec and building its validator is most of this file's work: do it here, under the
  // hook's timeout, not inside the first test's 5 s (a loaded 2-core machine took longer than that).
  validatorFor('getNotes', '200');
}, 60_000);
afterAll(async () => {
  await sim.close();
});

describe('v1 responses conform to the official v1 spec', () => {
  it('notes, files, activity types, users: list, get, add, update, delete', async () => {
    const deal = sim.store.deals.table.all()[1]!.id;
    check('getNotes', await api.get('/notes', { limit: 100 }));
    check('getNotes', await api.get('/notes', { deal_id: 999_999 }));
    const note = await api.post<{ data: Json }>('/notes', { content: '<p>hi</p>', deal_id: deal, pinned_to_deal_flag: 1 });
    check('addNote', note);
    check('getNote', await api.get(`/notes/${note.body.data['id']}`));
    check('updateNote', await api.put(`/notes/${note.body.data['id']}`, { content: 'changed' }));
    check('deleteNote', await api.del(`/notes/${note.body.data['id']}`));

    check('getFiles', await api.get('/files', { limit: 100 }));
    const file = await api.post<{ data: Json }>('/files', { file_name: 'a.pdf', file_size: 10, deal_id: deal });
    check('addFile', file);
    check('getFile', await api.get(`/files/${file.body.data['id']}`));
    check('updateFile', await api.put(`/files/${file.body.data['id']}`, { name: 'b', description: 'd' }));
    check('deleteFile', await api.del(`/files/${file.body.data['id']}`));

    const type = await api.post<{ data: Json }>('/activityTypes', { name: 'Demo', icon_key: 'presentation', color: 'FFAA00' });
    check('addActivityType', type);
    check('updateActivityType', await api.put(`/activityTypes/${type.body.data['id']}`, { name: 'Demo 2' }));
    check('deleteActivityType', await api.del(`/activityTypes/${type.body.data['id']}`));
    check('getActivityTypes', await api.get('/activityTypes'));

    const user = await api.post<{ data: Json }>('/users', { email: 'new@sim.example' });
    check('addUser', user);
    check('updateUser', await api.put(`/users/${user.body.data['id']}`, { active_flag: false }));
    check('getUsers', await api.get('/users'));
    check('getUser', await api.get('/users/2'));
    check('getCurrentUser', await api.get('/users/me'));
  });

  it('leads, lead labels, lead sources', async () => {
    check('getLeads', await api.get('/leads', { limit: 500 }));
    check('getLeads', await api.get('/leads', { owner_id: 999 }));
    check('getArchivedLeads', await api.get('/leads/archived'));
    const label = await api.post<{ data: Json }>('/leadLabels', { name: 'VIP', color: 'purple' });
    check('addLeadLabel', label);
    check('updateLeadLabel', await api.patch(`/leadLabels/${label.body.data['id']}`, { color: 'green' }));
    const lead = await api.post<{ data: Json }>('/leads', { title: 'L', person_id: 1, label_ids: [label.body.data['id']], value: { amount: 5, currency: 'EUR' } });
    check('addLead', lead, 201);
    check('getLead', await api.get(`/leads/${lead.body.data['id']}`));
    check('updateLead', await api.patch(`/leads/${lead.body.data['id']}`, { title: 'L2', value: null }));
    check('deleteLead', await api.del(`/leads/${lead.body.data['id']}`));
    check('deleteLeadLabel', await api.del(`/leadLabels/${label.body.data['id']}`));
    check('getLeadLabels', await api.get('/leadLabels'));
    check('getLeadSources', await api.get('/leadSources'));
  });

  it('goals, call logs, currencies, filters', async () => {
    check('getGoals', await api.get('/goals/find'));
    const body = { title: 'G', type: { name: 'deals_won', params: { pipeline_id: [1] } }, assignee: { id: 2, type: 'person' },
      expected_outcome: { target: 10, tracking_metric: 'quantity' }, duration: { start: '2026-01-01', end: '2026-03-31' }, interval: 'monthly' };
    const goal = await api.post<{ data: { goal: Json } }>('/goals', body);
    check('addGoal', goal);
    const id = goal.body.data.goal['id'] as string;
    check('updateGoal', await api.put(`/goals/${id}`, { title: 'G2' }));
    check('getGoalResult', await api.get(`/goals/${id}/results`, { 'period.start': '2026-01-01', 'period.end': '2026-01-31' }));
    check('deleteGoal', await api.del(`/goals/${id}`));

    const calls = await api.get<{ data: Json[] }>('/callLogs', { limit: 50 });
    check('getUserCallLogs', calls);
    check('getCallLog', await api.get(`/callLogs/${calls.body.data[0]!['id']}`));
    check('getCurrencies', await api.get('/currencies'));
    check('getFilters', await api.get('/filters'));
    check('getFilter', await api.get('/filters/1'));
    check('getFilterHelpers', await api.get('/filters/helpers'));
  });

  it('company structure: roles, permission sets, legacy teams', async () => {
    check('getRoles', await api.get('/roles'));
    check('getRole', await api.get('/roles/2'));
    const sets = await api.get<{ data: Json[] }>('/permissionSets');
    check('getPermissionSets', sets);
    check('getPermissionSet', await api.get(`/permissionSets/${sets.body.data[0]!['id']}`));
    check('getPermissionSetAssignments', await api.get(`/permissionSets/${sets.body.data[0]!['id']}/assignments`));
    check('getTeams', await api.get('/legacyTeams'));
    check('getTeam', await api.get('/legacyTeams/1'));
    check('getTeamUsers', await api.get('/legacyTeams/1/users'));
  });

  it('deal flow, changelog, mail; projects and tasks', async () => {
    const mailDeal = sim.store.v1.mail.messages.all()[0]!.data.deal_id!;
    const fileDeal = sim.store.v1.files.rows.all()[0]!.data.deal_id!;
    await api.post('/notes', { content: 'flow note', deal_id: mailDeal });
    await api.post('/files', { file_name: 'f.txt', deal_id: mailDeal });
    sim.store.deals.update(mailDeal, { title: 'Renamed', value: 42, status: 'won' });
    check('getDealUpdates', await api.get(`/deals/${mailDeal}/flow`, { all_changes: 1 }));
    check('getDealUpdates', await api.get(`/deals/${fileDeal}/flow`));
    check('getDealChangelog', await api.get(`/deals/${mailDeal}/changelog`, { limit: 2 }));
    check('getDealChangelog', await api.get(`/deals/${fileDeal}/changelog`));
    check('getDealMailMessages', await api.get(`/deals/${mailDeal}/mailMessages`));
    const seeded = sim.store.dealPeople.participants.table.all()[0]!.data.deal_id;
    check('getDealParticipants', await api.get(`/deals/${seeded}/participants`));
    const taken = new Set(sim.store.dealPeople.participantsOf(mailDeal).map((r) => r.data.person_id));
    const personId = sim.store.persons.table.all().find((r) => r.deletedAtMs === null && !taken.has(r.id))!.id;
    const added = await api.post<{ data: Json }>(`/deals/${mailDeal}/participants`, { person_id: personId });
    check('addDealParticipant', added);
    check('getDealParticipants', await api.get(`/deals/${mailDeal}/participants`, { limit: 1 }));
    check('deleteDealParticipant', await api.del(`/deals/${mailDeal}/participants/${added.body.data['id']}`));
    check('getMailMessage', await api.get(`/mailbox/mailMessages/${sim.store.v1.mail.messages.all()[0]!.id}`));
    for (const folder of ['inbox', 'sent', 'drafts', 'archive']) check('getMailThreads', await api.get('/mailbox/mailThreads', { folder, limit: 50 }));
    const inbox = await api.get<{ data: Json[] }>('/mailbox/mailThreads', { folder: 'inbox', limit: 500 });
    const sent = await api.get<{ data: Json[] }>('/mailbox/mailThreads', { folder: 'sent', limit: 500 });
    expect(inbox.body.data.length + sent.body.data.length).toBeGreaterThan(0);
    const me = sim.store.v1.mail.messages.all().filter((m) => m.data.user_id === ACCOUNT.tokenUserId && !m.data.deleted);
    expect(new Set(inbox.body.data.map((t) => t['id']))).toEqual(new Set(me.filter((m) => !m.data.sent).map((m) => m.data.mail_thread_id)));
    expect(new Set(sent.body.data.map((t) => t['id']))).toEqual(new Set(me.filter((m) => m.data.sent).map((m) => m.data.mail_thread_id)));
    check('getProjects', await api.get('/projects', { limit: 1 }));
    check('getProject', await api.get('/projects/1'));
    check('getTasks', await api.get('/tasks'));
    check('getTask', await api.get('/tasks/1'));
  });

  it('*Fields', async () => {
    for (const [path, op] of [['dealFields', 'getDealFields'], ['personFields', 'getPersonFields'], ['organizationFields', 'getOrganizationFields'],
      ['productFields', 'getProductFields'], ['activityFields', 'getActivityFields'], ['leadFields', 'getLeadFields'], ['noteFields', 'getNoteFields']] as const) {
      check(op, await api.get(`/${path}`, { limit: 500 }));
    }
    for (const [path, op] of [['dealFields', 'getDealField'], ['personFields', 'getPersonField'], ['organizationFields', 'getOrganizationField'], ['productFields', 'getProductField']] as const) {
      const first = (await api.get<{ data: Json[] }>(`/${path}`)).body.data.at(-1)!;
      check(op, await api.get(`/${path}/${first['id']}`));
    }
  });

  it('recents (after the writes above): full pages of every item type, empty pages, deleted items', async () => {
    const deal = sim.store.deals.table.all()[0]!.id;
    sim.store.deals.update(deal, { title: 'Conformance deal', value: 5 });
    const filter = sim.store.v1.filters.create(1, 'Temp', 'deals', { object: 'deal', field_id: '1', operator: '=', value: 'x', extra_value: null });
    sim.store.v1.filters.delete(1, filter.id);
    sim.store.pipelines.update(1, { name: 'Renamed pipeline' });
    sim.store.stages.update(2, { name: 'Renamed stage', is_deal_rot_enabled: true, days_to_rotten: 5 });
    const since = v1Time(T0_SEC - 29 * 86_400);
    const seen = new Set<string>();
    for (let start = 0; ; start += 200) {
      const r = await api.get<{ data: { item: string }[]; additional_data: { pagination: { more_items_in_collection: boolean } } }>('/recents', { since_timestamp: since, start, limit: 200 });
      check('getRecents', r);
      for (const d of r.body.data) seen.add(d.item);
      if (!r.body.additional_data.pagination.more_items_in_collection) break;
    }
    expect([...seen].sort()).toEqual(['activity', 'activityType', 'deal', 'file', 'filter', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user']);
    check('getRecents', await api.get('/recents', { since_timestamp: v1Time(T0_SEC + 10) }));
  });

  it('error bodies (400, 404) validate against the spec error schema', async () => {
    check('getNote 404', await api.get('/notes/999999'), 404, ERROR_SCHEMA);
    check('getLead 404', await api.get('/leads/00000000-0000-4000-a000-000000000000'), 404, ERROR_SCHEMA);
    check('getRecents 400', await api.get('/recents'), 400, ERROR_SCHEMA);
    check('addNote 400', await api.post('/notes', {}), 400, ERROR_SCHEMA);
    check('getFiles 400', await api.get('/files', { limit: 101 }), 400, ERROR_SCHEMA);
  });

  it('webhooks: add, list, delete, and their error bodies (the spec\'s WebhooksBadRequestResponse)', async () => {
    const body = { subscription_url: 'http://127.0.0.1:9/hook', event_action: '*', event_object: 'deal', name: 'conformance', http_auth_user: 'u', http_auth_password: 'p', version: '2.0' };
    const added = await api.post<{ data: Json }>('/webhooks', body);
    check('addWebhook', added, 201);
    check('getWebhooks', await api.get('/webhooks'));
    check('deleteWebhook', await api.del(`/webhooks/${added.body.data['id']}`));
    // 400 and 404 answer the webhook error schema, which the generic error check does not know.
    const bad = await api.post('/webhooks', { ...body, event_action: 'added' });
    expect(bad.status).toBe(400);
    expect(problems('addWebhook 400', compileV1(v1ResponseSchema('addWebhook', '400')), bad.body)).toEqual([]);
    expect(bad.body).toMatchObject({ success: false, errors: { event_action: [expect.any(String)] } });
    const missing = await api.del('/webhooks/999999');
    expect(missing.status).toBe(404);
    expect(problems('deleteWebhook 404', compileV1(v1ResponseSchema('deleteWebhook', '404')), missing.body)).toEqual([]);
  });

  it('every v1 operation the router serves was validated', () => {
    expect([...V1_OPERATIONS].filter((op) => !validated.has(op))).toEqual([]);
    expect(V1_OPERATIONS.size).toBeGreaterThan(60);
  });
});
