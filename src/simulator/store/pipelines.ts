/**
 * v2 pipelines and stages, created from the account's fixed pipeline layout (account.ts) so their ids
 * match what deals reference. Pipedrive documents no permanent deletion for these: deleted ones stay,
 * with is_deleted: true. Deleting a pipeline deletes its stages.
 *
 * Deals still derive stage → pipeline from account.ts; stages added through the API are not known to
 * deal writes yet.
 */
import type { SimClock } from '../clock.ts';
import { formatV2 } from '../time.ts';
import { ACCOUNT } from './account.ts';
import { EntityStore, type EntityModel } from './entity-store.ts';
import type { EventJournal } from './events.ts';
import { defined } from './model-kit.ts';
import type { Row } from './table.ts';

export interface PipelineRecord {
  readonly name: string;
  readonly order_nr: number;
  readonly is_deleted: boolean;
  readonly is_deal_probability_enabled: boolean;
}
export interface PipelineChanges {
  name?: string;
  is_deal_probability_enabled?: boolean;
  order_nr?: number;
}

export interface StageRecord {
  readonly order_nr: number;
  readonly name: string;
  readonly is_deleted: boolean;
  readonly deal_probability: number;
  readonly pipeline_id: number;
  readonly is_deal_rot_enabled: boolean;
  readonly days_to_rotten: number | null;
}
export interface StageChanges {
  name?: string;
  pipeline_id?: number;
  deal_probability?: number;
  is_deal_rot_enabled?: boolean;
  days_to_rotten?: number | null;
  order_nr?: number;
}

export const PIPELINE_FIELDS = ['id', 'name', 'order_nr', 'is_deleted', 'is_deal_probability_enabled', 'add_time', 'update_time'] as const;
export const STAGE_FIELDS = [
  'id', 'order_nr', 'name', 'is_deleted', 'deal_probability', 'pipeline_id', 'is_deal_rot_enabled', 'days_to_rotten',
  'add_time', 'update_time',
] as const;

const mkPipeline = (f: PipelineRecord): PipelineRecord => ({
  name: f.name, order_nr: f.order_nr, is_deleted: f.is_deleted, is_deal_probability_enabled: f.is_deal_probability_enabled,
});
const mkStage = (f: StageRecord): StageRecord => ({
  order_nr: f.order_nr, name: f.name, is_deleted: f.is_deleted, deal_probability: f.deal_probability,
  pipeline_id: f.pipeline_id, is_deal_rot_enabled: f.is_deal_rot_enabled, days_to_rotten: f.days_to_rotten,
});

const times = (row: Row<unknown>) => ({ add_time: formatV2(row.addSec), update_time: formatV2(row.updateSec) });

/** order_nr of a new pipeline / stage: after the last one (computed by the store). */
export function pipelineModel(nextOrder: () => number): EntityModel<PipelineRecord, PipelineChanges> {
  return {
    itemType: 'pipeline',
    keepDeleted: true,
    create: (ch) => mkPipeline({ name: '', order_nr: nextOrder(), is_deleted: false, is_deal_probability_enabled: false, ...defined(ch) }),
    apply: (prev, ch) => mkPipeline({ ...prev, ...defined(ch) }),
    markDeleted: (prev) => mkPipeline({ ...prev, is_deleted: true }),
    present: (row: Row<PipelineRecord>) => {
      const p = row.data;
      return { id: row.id, name: p.name, order_nr: p.order_nr, is_deleted: p.is_deleted, is_deal_probability_enabled: p.is_deal_probability_enabled, ...times(row) };
    },
  };
}

export function stageModel(nextOrder: (pipelineId: number) => number): EntityModel<StageRecord, StageChanges> {
  return {
    itemType: 'stage',
    keepDeleted: true,
    create: (ch) => mkStage({
      order_nr: nextOrder(ch.pipeline_id ?? 1), name: '', is_deleted: false, deal_probability: 100, pipeline_id: 1,
      is_deal_rot_enabled: false, days_to_rotten: null, ...defined(ch),
    }),
    apply(prev, ch) {
      const moved = ch.pipeline_id !== undefined && ch.pipeline_id !== prev.pipeline_id && ch.order_nr === undefined;
      const next = mkStage({ ...prev, ...defined(ch), ...(moved ? { order_nr: nextOrder(ch.pipeline_id!) } : {}) });
      return next.is_deal_rot_enabled ? next : mkStage({ ...next, days_to_rotten: null });
    },
    markDeleted: (prev) => mkStage({ ...prev, is_deleted: true }),
    present: (row: Row<StageRecord>) => {
      const s = row.data;
      return {
        id: row.id, order_nr: s.order_nr, name: s.name, is_deleted: s.is_deleted, deal_probability: s.deal_probability,
        pipeline_id: s.pipeline_id, is_deal_rot_enabled: s.is_deal_rot_enabled, days_to_rotten: s.days_to_rotten, ...times(row),
      };
    },
    extraKeys: { order_nr: (r) => r.data.order_nr },
  };
}

const PIPELINE_NAMES = ['Sales pipeline', 'Partnerships', 'Renewals', 'Enterprise'];
const STAGE_NAMES = ['Qualified', 'Contact made', 'Demo scheduled', 'Proposal made', 'Negotiations started', 'Verbal yes'];

export interface PipelineStores {
  pipelines: EntityStore<PipelineRecord, PipelineChanges>;
  stages: EntityStore<StageRecord, StageChanges>;
}

/** Both stores, holding the account's pipelines and stages as of a year before the clock's now. */
export function createPipelineStores(clock: SimClock, journal: EventJournal): PipelineStores {
  const stores: PipelineStores = {} as PipelineStores;
  const live = <R extends { is_deleted: boolean }>(s: EntityStore<R, unknown>) => s.table.all().filter((r) => !r.data.is_deleted);
  stores.pipelines = new EntityStore(clock, journal, pipelineModel(() => Math.max(0, ...live(stores.pipelines).map((r) => r.data.order_nr)) + 1));
  stores.stages = new EntityStore(clock, journal, stageModel((pid) =>
    Math.max(0, ...live(stores.stages).filter((r) => r.data.pipeline_id === pid).map((r) => r.data.order_nr)) + 1));

  const sec = clock.nowSeconds() - 365 * 24 * 3600;
  let stageNr = 0;
  for (const [pipelineId, stageIds] of ACCOUNT.pipelines) {
    const p = stores.pipelines.insert(sec, sec, () => mkPipeline({
      name: PIPELINE_NAMES[pipelineId - 1] ?? `Pipeline ${pipelineId}`, order_nr: pipelineId, is_deleted: false,
      is_deal_probability_enabled: pipelineId === 1,
    }));
    if (p.id !== pipelineId) throw new Error('pipeline ids must follow account.ts');
    stageIds.forEach((stageId, i) => {
      const s = stores.stages.insert(sec, sec, () => mkStage({
        order_nr: i + 1, name: STAGE_NAMES[i] ?? `Stage ${i + 1}`, is_deleted: false,
        deal_probability: Math.round(((i + 1) / stageIds.length) * 100), pipeline_id: pipelineId,
        is_deal_rot_enabled: i === 0, days_to_rotten: i === 0 ? 14 : null,
      }));
      stageNr += 1;
      if (s.id !== stageId || stageNr !== stageId) throw new Error('stage ids must follow account.ts');
    });
  }
  return stores;
}

/** Delete a pipeline and its stages. False when absent or already deleted. */
export function deletePipeline(stores: PipelineStores, id: number): boolean {
  if (!stores.pipelines.delete(id)) return false;
  for (const s of stores.stages.all()) if (s.data.pipeline_id === id && s.deletedAtMs === null) stores.stages.delete(s.id);
  return true;
}
