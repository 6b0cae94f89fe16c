/**
 * Projects and their tasks (v1 only, cursor-paginated by id). Seeded by the generator; the API
 * reads them. Deleted projects are listed only with status=deleted, archived ones only with
 * include_archived=true, as the spec describes.
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import type { Position, Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export const PROJECT_STATUSES = ['open', 'completed', 'canceled', 'deleted'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export interface ProjectRecord {
  title: string;
  board_id: number;
  phase_id: number;
  description: string;
  status: ProjectStatus;
  owner_id: number;
  start_date: string | null;
  end_date: string | null;
  deal_ids: number[];
  org_id: number | null;
  person_id: number | null;
  labels: number[];
  status_change_sec: number | null;
  archive_sec: number | null;
}

export interface TaskRecord {
  title: string;
  project_id: number;
  description: string;
  parent_task_id: number | null;
  assignee_id: number | null;
  assignee_ids: number[];
  done: 0 | 1;
  due_date: string | null;
  creator_id: number;
  marked_as_done_sec: number | null;
}

export interface CursorPage<T> {
  rows: Row<T>[];
  next: Position | null;
}

export interface ProjectQuery {
  from?: Position | undefined;
  limit: number;
  statuses?: ReadonlySet<ProjectStatus> | undefined;
  phase_id?: number | undefined;
  includeArchived: boolean;
}

export interface TaskQuery {
  from?: Position | undefined;
  limit: number;
  assignee_id?: number | undefined;
  project_id?: number | undefined;
  /** null: only top-level tasks; a number: only subtasks of that task. */
  parent_task_id?: number | null | undefined;
  done?: 0 | 1 | undefined;
}

const DEFAULT_STATUSES: ReadonlySet<ProjectStatus> = new Set(['open', 'completed', 'canceled']);

export class ProjectStore {
  readonly projects: JournaledTable<ProjectRecord>;
  readonly tasks: JournaledTable<TaskRecord>;

  constructor(clock: SimClock, journal: EventJournal) {
    this.projects = new JournaledTable<ProjectRecord>(clock, journal, 'project', undefined, null);
    this.tasks = new JournaledTable<TaskRecord>(clock, journal, 'task', undefined, null);
  }

  listProjects(q: ProjectQuery): CursorPage<ProjectRecord> {
    const statuses = q.statuses ?? DEFAULT_STATUSES;
    return this.projects.table.scan({
      sortBy: 'id', direction: 'asc', from: q.from, limit: q.limit,
      filter: (r) => statuses.has(r.data.status) && (q.includeArchived || r.data.archive_sec === null)
        && (q.phase_id === undefined || r.data.phase_id === q.phase_id),
    });
  }

  listTasks(q: TaskQuery): CursorPage<TaskRecord> {
    return this.tasks.table.scan({
      sortBy: 'id', direction: 'asc', from: q.from, limit: q.limit,
      filter: (r) => {
        const t = r.data;
        if (q.assignee_id !== undefined && t.assignee_id !== q.assignee_id) return false;
        if (q.project_id !== undefined && t.project_id !== q.project_id) return false;
        if (q.parent_task_id !== undefined && t.parent_task_id !== q.parent_task_id) return false;
        return q.done === undefined || t.done === q.done;
      },
    });
  }
}
