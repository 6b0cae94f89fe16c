/**
 * v2 pipelines (getPipelines, getPipeline, addPipeline, updatePipeline, deletePipeline) and stages
 * (getStages, getStage, addStage, updateStage, deleteStage). Neither list has updated_since: clients
 * sort by update_time and stop at their watermark.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { intQuery } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import { deletePipeline, type PipelineChanges, type StageChanges } from '../../store/pipelines.ts';
import { parseBody, requireText, type Check } from './body.ts';
import { entityRoutes } from './entity-routes.ts';

const PERCENT: Check = (v, fail) => {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > 100) throw fail('integer between 0 and 100');
  return v;
};

export function pipelineRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  r.use(entityRoutes({
    path: '/pipelines',
    ops: { list: 'getPipelines', get: 'getPipeline', add: 'addPipeline', update: 'updatePipeline', remove: 'deletePipeline' },
    store: store.pipelines,
    sortFields: ['id', 'update_time', 'add_time'],
    timeFilters: false,
    ids: false,
    parse(body, creating) {
      const out = parseBody(body, { name: 'string', is_deal_probability_enabled: 'bool' });
      requireText(out, 'name', creating, 'Validation failed: name: Pipeline name must be given.');
      return out as PipelineChanges;
    },
    remove: (id) => deletePipeline(store, id),
  }, operation));

  r.use(entityRoutes({
    path: '/stages',
    ops: { list: 'getStages', get: 'getStage', add: 'addStage', update: 'updateStage', remove: 'deleteStage' },
    store: store.stages,
    sortFields: ['id', 'update_time', 'add_time', 'order_nr'],
    timeFilters: false,
    ids: false,
    parse(body, creating) {
      const out = parseBody(body, { name: 'string', pipeline_id: 'int', deal_probability: PERCENT, is_deal_rot_enabled: 'bool', days_to_rotten: 'int?' });
      requireText(out, 'name', creating, 'Validation failed: name: Stage name must be given.');
      const pipelineId = out['pipeline_id'];
      if (creating && pipelineId === undefined) throw badRequest('Validation failed: pipeline_id: Required');
      if (typeof pipelineId === 'number' && !store.pipelines.getLive(pipelineId)) throw badRequest(`Validation failed: pipeline_id: Pipeline ${pipelineId} not found`);
      return out as StageChanges;
    },
    filter(req) {
      const pipelineId = intQuery(req, 'pipeline_id');
      return pipelineId === undefined ? undefined : (row) => row.data.pipeline_id === pipelineId;
    },
  }, operation));
  return r;
}
