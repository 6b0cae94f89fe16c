import { defineTable } from '../types.ts';

/**
 * GOAL — v1 `GET /v1/goals/find` (20 tokens, unpaginated; rows at `data.goals`), re-imported daily. Goals
 * have no update time. Nested objects are flattened (`type.name` → `type_name`, `assignee.id` →
 * `assignee_id`, `duration.start` → `duration_start`, …); `type.params.pipeline_id[]` fans out to
 * GOAL_PIPELINE. Without search parameters the endpoint returns only the token user's active goals (spec).
 */
export const goal = defineTable({
  name: 'goal',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/goals/find', pagination: 'none', rowsPath: 'data.goals' }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  children: [{ table: 'goal_pipeline', from: 'type.params.pipeline_id' }],
  notes: 're-imported daily; a goal gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'title', type: 'string' },
    { name: 'type_name', type: 'string', path: 'type.name' },
    { name: 'type_params', type: 'json', path: 'type.params' },
    { name: 'assignee_id', type: 'long', path: 'assignee.id' },
    { name: 'assignee_type', type: 'string', path: 'assignee.type' },
    { name: 'interval', type: 'string' },
    { name: 'duration_start', type: 'date', path: 'duration.start' },
    { name: 'duration_end', type: 'date', path: 'duration.end' },
    { name: 'expected_outcome_target', type: 'long', path: 'expected_outcome.target' },
    { name: 'expected_outcome_tracking_metric', type: 'string', path: 'expected_outcome.tracking_metric' },
    { name: 'is_active', type: 'boolean' },
    { name: 'report_ids', type: 'json' },
  ],
});

/** GOAL_PIPELINE — the goal's `type.params.pipeline_id[]` (pipeline ids; absent = all pipelines). */
export const goalPipeline = defineTable({
  name: 'goal_pipeline',
  api: 'v1',
  sync: { kind: 'child', parent: 'goal' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['goal_id', 'pipeline_id'],
  notes: 'replaced with every goal import; worst case 24 h',
  columns: [
    { name: 'goal_id', type: 'string', path: '$parent.id' },
    { name: 'pipeline_id', type: 'long', path: '$value' },
  ],
});

/**
 * GOAL_RESULT — v1 `GET /v1/goals/{id}/results` (20 tokens per goal), re-imported daily for every goal.
 * The response `data` is ONE object `{progress, goal}`: the goal's fields under `goal.`, plus `progress`
 * (a double: sum goals track money, Fivetran widened it in 2024). `period.start`/`period.end` are required;
 * they are the goal's own duration, filled from the parent goal (`{duration.start}` templates).
 */
export const goalResult = defineTable({
  name: 'goal_result',
  api: 'v1',
  sync: {
    kind: 'reimport',
    list: {
      endpoint: '/v1/goals/{id}/results',
      pagination: 'none',
      params: { 'period.start': '{duration.start}', 'period.end': '{duration.end}' },
      forEachParent: { list: goal.sync.list, idField: 'id' },
    },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  notes: 're-imported daily per goal; a goal gone from the goal list loses its result row (worst case 24 h)',
  columns: [
    { name: 'id', type: 'string', path: 'goal.id' },
    { name: 'progress', type: 'double' },
    { name: 'owner_id', type: 'long', path: 'goal.owner_id' },
    { name: 'title', type: 'string', path: 'goal.title' },
    { name: 'type_name', type: 'string', path: 'goal.type.name' },
    { name: 'type_params', type: 'json', path: 'goal.type.params' },
    { name: 'assignee_id', type: 'long', path: 'goal.assignee.id' },
    { name: 'assignee_type', type: 'string', path: 'goal.assignee.type' },
    { name: 'interval', type: 'string', path: 'goal.interval' },
    { name: 'duration_start', type: 'date', path: 'goal.duration.start' },
    { name: 'duration_end', type: 'date', path: 'goal.duration.end' },
    { name: 'expected_outcome_target', type: 'long', path: 'goal.expected_outcome.target' },
    { name: 'expected_outcome_tracking_metric', type: 'string', path: 'goal.expected_outcome.tracking_metric' },
    { name: 'is_active', type: 'boolean', path: 'goal.is_active' },
    { name: 'report_ids', type: 'json', path: 'goal.report_ids' },
  ],
});
