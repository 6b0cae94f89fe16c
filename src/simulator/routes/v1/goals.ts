/**
 * v1 goals: getGoals (/goals/find), addGoal, updateGoal, deleteGoal, getGoalResult. Responses carry
 * the goals service's statusCode/statusText/service fields, as the spec's examples show. Results are
 * computed from the deals store (won, started, progressed in the period); activity goals count 0.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { queryValue } from '../../http/params.ts';
import { LEGACY_TEAMS, reportIdFor } from '../../store/company.ts';
import type { Deal } from '../../store/deal-model.ts';
import { ASSIGNEE_TYPES, GOAL_INTERVALS, GOAL_TYPES, type GoalInput, type GoalRecord } from '../../store/goals.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { isDateOnly } from '../../time.ts';
import { bodyOf, oneOf, requireFields } from './body.ts';
import { boolQuery, caller, notFound, pathKey } from './common.ts';

const SERVICE = { statusCode: 20000, statusText: 'OK', service: 'statistics-goals-api' };

export function presentGoal(row: Row<GoalRecord>): Record<string, unknown> {
  const g = row.data;
  const params: Record<string, unknown> = { pipeline_id: g.pipeline_ids };
  if (g.activity_type_ids !== null) params['activity_type_id'] = g.activity_type_ids;
  if (g.stage_id !== null) params['stage_id'] = g.stage_id;
  const outcome: Record<string, unknown> = { target: g.target, tracking_metric: g.tracking_metric };
  if (g.currency_id !== null) outcome['currency_id'] = g.currency_id;
  return {
    id: g.gid, owner_id: g.owner_id, title: g.title, type: { name: g.type_name, params }, assignee: { id: g.assignee_id, type: g.assignee_type },
    interval: g.interval, duration: { start: g.start, end: g.end }, expected_outcome: outcome, is_active: g.is_active, report_ids: g.report_ids,
  };
}

function send(res: Response, data: unknown): void {
  res.json({ success: true, ...SERVICE, data });
}

const obj = (v: unknown, key: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`Validation failed: ${key}: Expected object`);
  return v as Record<string, unknown>;
};
const ints = (v: unknown, key: string): number[] | null => {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) throw badRequest(`Validation failed: ${key}: Expected array of integers`);
  return v as number[];
};
const date = (v: unknown, key: string): string => {
  if (typeof v !== 'string' || !isDateOnly(v)) throw badRequest(`Validation failed: ${key}: Expected date YYYY-MM-DD`);
  return v;
};

function parseGoal(body: Record<string, unknown>, partial: boolean): Partial<GoalInput> {
  const out: Partial<GoalInput> = {};
  if (body['title'] !== undefined) out.title = String(body['title']);
  if (body['type'] !== undefined) {
    const t = obj(body['type'], 'type');
    const p = t['params'] === undefined ? {} : obj(t['params'], 'type.params');
    out.type_name = oneOf('type.name', t['name'], GOAL_TYPES);
    out.pipeline_ids = ints(p['pipeline_id'], 'type.params.pipeline_id');
    out.activity_type_ids = ints(p['activity_type_id'], 'type.params.activity_type_id');
    out.stage_id = Number.isSafeInteger(p['stage_id']) ? (p['stage_id'] as number) : null;
  }
  if (body['assignee'] !== undefined) {
    const a = obj(body['assignee'], 'assignee');
    if (!Number.isSafeInteger(a['id'])) throw badRequest('Validation failed: assignee.id: Expected integer');
    out.assignee_id = a['id'] as number;
    out.assignee_type = oneOf('assignee.type', a['type'], ASSIGNEE_TYPES);
  }
  if (body['expected_outcome'] !== undefined) {
    const o = obj(body['expected_outcome'], 'expected_outcome');
    if (typeof o['target'] !== 'number') throw badRequest('Validation failed: expected_outcome.target: Expected number');
    out.target = o['target'];
    out.tracking_metric = oneOf('expected_outcome.tracking_metric', o['tracking_metric'], ['quantity', 'sum'] as const);
    out.currency_id = Number.isSafeInteger(o['currency_id']) ? (o['currency_id'] as number) : null;
  }
  if (body['duration'] !== undefined) {
    const d = obj(body['duration'], 'duration');
    out.start = date(d['start'], 'duration.start');
    out.end = date(d['end'], 'duration.end');
    if (out.end < out.start) throw badRequest('Validation failed: duration.end: Must not be before duration.start');
  }
  if (body['interval'] !== undefined) out.interval = oneOf('interval', body['interval'], GOAL_INTERVALS);
  if (!partial) requireFields(body, ['type', 'assignee', 'expected_outcome', 'duration', 'interval']);
  return out;
}

/** getGoals filters; "everyone's goals" unless none is given, then only the caller's. */
function goalFilter(req: Request, me: number): (g: GoalRecord) => boolean {
  const q = (k: string) => queryValue(req, k);
  const active = boolQuery(req, 'is_active') ?? true;
  const [start, end] = [q('period.start'), q('period.end')];
  if ((start === undefined) !== (end === undefined)) throw badRequest('period.start and period.end must be given together');
  if (start !== undefined) date(start, 'period.start');
  if (end !== undefined) date(end, 'period.end');
  const everyone = ['type.name', 'assignee.type', 'expected_outcome.target', 'expected_outcome.tracking_metric', 'expected_outcome.currency_id',
    'type.params.pipeline_id', 'type.params.stage_id', 'type.params.activity_type_id'].some((k) => q(k) !== undefined);
  const assignee = q('assignee.id');
  return (g) => g.is_active === active
    && (assignee !== undefined ? String(g.assignee_id) === assignee : everyone || g.owner_id === me)
    && (q('type.name') === undefined || g.type_name === q('type.name'))
    && (q('title') === undefined || g.title === q('title'))
    && (q('assignee.type') === undefined || g.assignee_type === q('assignee.type'))
    && (q('expected_outcome.tracking_metric') === undefined || g.tracking_metric === q('expected_outcome.tracking_metric'))
    && (q('expected_outcome.target') === undefined || String(g.target) === q('expected_outcome.target'))
    && (start === undefined || (g.start <= end! && g.end >= start));
}

function progress(store: SimStore, g: GoalRecord, from: string, to: string): number {
  const members = g.assignee_type === 'team' ? new Set(LEGACY_TEAMS.find((t) => t.id === g.assignee_id)?.users ?? []) : null;
  const when: Partial<Record<GoalRecord['type_name'], (d: Deal) => string | null>> = {
    deals_won: (d) => d.won_time, deals_started: (d) => d.add_time, deals_progressed: (d) => d.stage_change_time,
  };
  const timeOf = when[g.type_name];
  if (!timeOf) return 0;
  let total = 0;
  for (const { data: d } of store.deals.table.all()) {
    const t = timeOf(d)?.slice(0, 10);
    if (t === undefined || t < from || t > to || d.is_deleted) continue;
    if (g.assignee_type === 'person' && d.owner_id !== g.assignee_id) continue;
    if (members && !members.has(d.owner_id)) continue;
    if (g.pipeline_ids && !g.pipeline_ids.includes(d.pipeline_id)) continue;
    if (g.stage_id !== null && d.stage_id !== g.stage_id) continue;
    total += g.tracking_metric === 'sum' ? d.value : 1;
  }
  return total;
}

export function goalRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const goals = store.v1.goals;

  r.get('/goals/find', operation('getGoals'), (req, res) => {
    const keep = goalFilter(req, caller(res).userId);
    send(res, { goals: goals.list().filter((g) => keep(g.data)).map(presentGoal) });
  });

  r.post('/goals', operation('addGoal'), (req, res) => {
    const g = parseGoal(bodyOf(req), false) as GoalInput;
    send(res, { goal: presentGoal(goals.create(caller(res).userId, { ...g, title: g.title ?? '' }, reportIdFor)) });
  });

  r.put('/goals/:id', operation('updateGoal'), (req, res) => {
    const row = goals.update(caller(res).userId, pathKey(req), parseGoal(bodyOf(req), true));
    if (!row) throw notFound('Goal');
    send(res, { goal: presentGoal(row) });
  });

  r.delete('/goals/:id', operation('deleteGoal'), (req, res) => {
    if (!goals.delete(caller(res).userId, pathKey(req))) throw notFound('Goal');
    res.json({ success: true });
  });

  r.get('/goals/:id/results', operation('getGoalResult'), (req, res) => {
    const row = goals.get(pathKey(req));
    if (!row) throw notFound('Goal');
    const from = date(queryValue(req, 'period.start'), 'period.start');
    const to = date(queryValue(req, 'period.end'), 'period.end');
    if (from < row.data.start || to > row.data.end) throw badRequest('The period must be within the goal duration');
    send(res, { progress: progress(store, row.data, from, to), goal: presentGoal(row) });
  });

  return r;
}
