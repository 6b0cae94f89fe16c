import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { ACCOUNT } from '../../src/simulator/store/account.ts';
import { client, startFrozen, T0_SEC, type Client, type ErrorBody } from './helpers.ts';
import { ids, iso, walk, type Item, type One } from './v2-helpers.ts';

let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('pipelines and stages', () => {
  it('hold the account layout deals refer to, dated a year back', async () => {
    const pipelines = (await walk<Item>(api, '/api/v2/pipelines')).rows;
    expect(ids(pipelines)).toEqual([...ACCOUNT.pipelines.keys()]);
    expect(pipelines[0]).toMatchObject({ name: 'Sales pipeline', order_nr: 1, is_deleted: false, is_deal_probability_enabled: true, add_time: iso(T0_SEC - 365 * 86400) });
    for (const [pipelineId, stageIds] of ACCOUNT.pipelines) {
      const stages = (await walk<Item>(api, '/api/v2/stages', { pipeline_id: pipelineId })).rows;
      expect(ids(stages)).toEqual(stageIds);
      expect(stages.map((s) => s['order_nr'])).toEqual(stageIds.map((_, i) => i + 1));
    }
  });

  it('the watermark pattern: sort_by=update_time desc finds what changed (there is no updated_since)', async () => {
    sim.clock.advance(5000);
    await api.patch('/api/v2/stages/3', { name: 'Demo booked' });
    sim.clock.advance(1000);
    await api.patch('/api/v2/pipelines/2', { is_deal_probability_enabled: true });
    const stages = (await walk<Item>(api, '/api/v2/stages', { sort_by: 'update_time', sort_direction: 'desc', limit: 2 })).rows;
    expect(stages[0]).toMatchObject({ id: 3, name: 'Demo booked', update_time: iso(T0_SEC + 5) });
    expect((await walk<Item>(api, '/api/v2/pipelines', { sort_by: 'update_time', sort_direction: 'desc' })).rows[0]).toMatchObject({ id: 2, update_time: iso(T0_SEC + 6) });
    // updated_since is not a parameter of these lists: it is ignored, as unknown parameters are.
    expect((await walk(api, '/api/v2/stages', { updated_since: iso(T0_SEC + 100) })).rows).toHaveLength(9);
  });

  it('add, move and delete stages; order_nr follows; deleting a pipeline deletes its stages; nothing is purged', async () => {
    const added = await api.post<One>('/api/v2/stages', { name: 'Closing', pipeline_id: 2, deal_probability: 90 });
    expect(added.body.data).toMatchObject({ id: 10, order_nr: 5, pipeline_id: 2, deal_probability: 90, is_deal_rot_enabled: false, days_to_rotten: null });
    const moved = await api.patch<One>('/api/v2/stages/10', { pipeline_id: 1, is_deal_rot_enabled: true, days_to_rotten: 7 });
    expect(moved.body.data).toMatchObject({ pipeline_id: 1, order_nr: 6, days_to_rotten: 7 });
    expect(ids((await walk(api, '/api/v2/stages', { pipeline_id: 1, sort_by: 'order_nr', sort_direction: 'desc', limit: 2 })).rows)).toEqual([10, 5, 4, 3, 2, 1]);
    for (const [body, field] of [[{ name: 'x' }, /pipeline_id/], [{ name: 'x', pipeline_id: 99 }, /pipeline_id/], [{ pipeline_id: 1 }, /name/], [{ name: 'x', pipeline_id: 1, deal_probability: 101 }, /deal_probability/]] as const) {
      expect((await api.post<ErrorBody>('/api/v2/stages', body)).body.error).toMatch(field);
    }

    const p = await api.post<One>('/api/v2/pipelines', { name: 'Renewals' });
    expect(p.body.data).toMatchObject({ id: 3, order_nr: 3, is_deal_probability_enabled: false });
    await api.post('/api/v2/stages', { name: 'Due', pipeline_id: 3 });
    expect((await api.del('/api/v2/pipelines/3')).status).toBe(200);
    expect(ids((await walk(api, '/api/v2/pipelines')).rows)).toEqual([1, 2]);
    expect((await walk(api, '/api/v2/stages', { pipeline_id: 3 })).rows).toEqual([]);
    expect(sim.store.journal.of('stage', 11).map((e) => e.action)).toEqual(['add', 'delete']);
    sim.clock.advance(60 * 24 * 3600 * 1000);
    expect((await api.get<One>('/api/v2/pipelines/3')).body.data).toMatchObject({ is_deleted: true });
    expect((await api.get<One>('/api/v2/stages/11')).body.data).toMatchObject({ is_deleted: true });
    expect((await api.del('/api/v2/pipelines/3')).status).toBe(404);
  });
});
