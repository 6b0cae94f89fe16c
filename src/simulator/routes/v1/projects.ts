/**
 * v1 projects and tasks (cursor pagination, like v2): getProjects, getProject, getTasks, getTask.
 * Their times carry milliseconds (`YYYY-MM-DD HH:MM:SS.000`), as the spec's examples show.
 */
import express, { type RequestHandler, type Response, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { decodeCursor, encodeCursor, MAX_LIMIT } from '../../http/pagination.ts';
import { csvQuery, intQuery, pathId, queryValue } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import { PROJECT_STATUSES, type CursorPage, type ProjectRecord, type ProjectStatus, type TaskRecord } from '../../store/projects.ts';
import type { Position, Row } from '../../store/table.ts';
import { boolQuery, flagQuery, formatV1, notFound } from './common.ts';

const ms = (sec: number | null): string | null => (sec === null ? null : `${formatV1(sec)}.000`);

export function presentProject(row: Row<ProjectRecord>): Record<string, unknown> {
  const p = row.data;
  return {
    id: row.id, title: p.title, description: p.description, status: p.status, status_change_time: ms(p.status_change_sec),
    start_date: p.start_date, end_date: p.end_date, owner_id: p.owner_id, add_time: ms(row.addSec), update_time: ms(row.updateSec),
    labels: p.labels, archive_time: ms(p.archive_sec), deal_ids: p.deal_ids, person_id: p.person_id, org_id: p.org_id,
    board_id: p.board_id, phase_id: p.phase_id,
  };
}

export function presentTask(row: Row<TaskRecord>): Record<string, unknown> {
  const t = row.data;
  return {
    id: row.id, title: t.title, creator_id: t.creator_id, description: t.description, done: t.done, due_date: t.due_date,
    parent_task_id: t.parent_task_id, assignee_id: t.assignee_id, assignee_ids: t.assignee_ids, add_time: ms(row.addSec),
    update_time: ms(row.updateSec), marked_as_done_time: ms(t.marked_as_done_sec), project_id: t.project_id,
  };
}

function cursorArgs(req: Parameters<RequestHandler>[0], dfltLimit: number): { from: Position | undefined; limit: number } {
  const raw = queryValue(req, 'limit');
  if (raw !== undefined && (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT)) {
    throw badRequest(`Validation failed: limit: Must be between 1 and ${MAX_LIMIT}`);
  }
  const cursor = queryValue(req, 'cursor');
  return { from: cursor ? decodeCursor(cursor, 'id', 'asc') : undefined, limit: raw === undefined ? dfltLimit : Number(raw) };
}

function sendCursorPage<T>(res: Response, page: CursorPage<T>, present: (r: Row<T>) => unknown): void {
  res.json({ success: true, data: page.rows.map(present), additional_data: { next_cursor: page.next && encodeCursor('id', 'asc', page.next) } });
}

export function projectRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const { projects } = store.v1;

  r.get('/projects', operation('getProjects'), (req, res) => {
    if (queryValue(req, 'filter_id') !== undefined) throw badRequest('filter_id is not supported by the simulator');
    const statuses = csvQuery(req, 'status');
    for (const s of statuses ?? []) if (!(PROJECT_STATUSES as readonly string[]).includes(s)) throw badRequest(`Validation failed: status: Must be one of ${PROJECT_STATUSES.join(', ')}`);
    const page = projects.listProjects({
      ...cursorArgs(req, 100), statuses: statuses && statuses.length > 0 ? new Set(statuses as ProjectStatus[]) : undefined,
      phase_id: intQuery(req, 'phase_id'), includeArchived: boolQuery(req, 'include_archived') ?? false,
    });
    sendCursorPage(res, page, presentProject);
  });

  r.get('/projects/:id', operation('getProject'), (req, res) => {
    const row = projects.projects.getRow(pathId(req));
    if (!row) throw notFound('Project');
    res.json({ success: true, data: presentProject(row), additional_data: {} });
  });

  r.get('/tasks', operation('getTasks'), (req, res) => {
    const parent = queryValue(req, 'parent_task_id');
    const done = flagQuery(req, 'done');
    const page = projects.listTasks({
      ...cursorArgs(req, 500), assignee_id: intQuery(req, 'assignee_id'), project_id: intQuery(req, 'project_id'),
      parent_task_id: parent === undefined ? undefined : parent === 'null' ? null : intQuery(req, 'parent_task_id'),
      done: done === undefined ? undefined : done ? 1 : 0,
    });
    sendCursorPage(res, page, presentTask);
  });

  r.get('/tasks/:id', operation('getTask'), (req, res) => {
    const row = projects.tasks.getRow(pathId(req));
    if (!row) throw notFound('Task');
    res.json({ success: true, data: presentTask(row), additional_data: {} });
  });

  return r;
}
