import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import type { ChangeBatch } from '../../src/capture/change.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import { KeyIndex } from '../../src/capture/key-index.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { ReimportSource } from '../../src/capture/reimport-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';

const DAY = 24 * 3600 * 1000;

/**
 * Deletes by absence in a re-import (FullImport's sweep of the key index): the rows that vanished from the
 * local Pipedrive's list, and only those, go out as deletes — checked against the simulator's store.
 */
describe('re-import deletes (a sweep of the key index)', () => {
  let sim: Simulator;
  let client: PipedriveClient;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 5, deals: 50, clock: new SimClock({ start: new Date('2026-04-01T08:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('projects deleted between two imports are deleted, nothing else; a project created meanwhile is a create', async () => {
    const spec = tableByName('project');
    const indexes = new Map<string, KeyIndex>([['project', new KeyIndex(spec)], ['project_deal', new KeyIndex(tableByName('project_deal'))]]);
    const ctx: EmitContext = { spec, tableOf: tableByName, indexes };
    const source = new ReimportSource(ctx, client, initialOffset);
    const pass = async () => {
      const batches: ChangeBatch[] = [];
      for (let b = await source.poll(); b; b = await source.poll()) {
        for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
        source.committed(b);
        batches.push(b);
      }
      return batches.flatMap((b) => b.events).filter((e) => e.table === 'project');
    };
    const store = sim.store.v1.projects.projects;
    const seeded = store.all()[0]!.data;
    for (let i = 0; i < 6; i++) store.add(1, () => ({ ...seeded, title: `Project ${i}` }));
    const listed = () => store.all().filter((p) => p.data.status !== 'deleted' && p.deletedAtMs === null).map((p) => p.id).sort((a, b) => a - b);
    await pass();
    const before = listed();
    expect(before.length).toBeGreaterThan(3);
    expect([...indexes.get('project')!.keys().keys()].map(Number).sort((a, b) => a - b)).toEqual(before);

    const gone = [before[0]!, before[2]!];
    for (const id of gone) {
      const row = store.getRow(id)!;
      store.softDelete(row, 1, { ...row.data, status: 'deleted' });
    }
    const created = store.add(1, () => ({ ...seeded, title: 'Created between the imports' }));
    sim.clock.advance(DAY + 1000);
    await client.getJson('/v1/users/me', {}, '/v1/users/me');

    const events = await pass();
    expect(events.filter((e) => e.op === 'd').map((e) => e.key.id).sort()).toEqual(gone.sort());
    expect(events.filter((e) => e.op !== 'd').map((e) => `${e.op}:${String(e.key.id)}`)).toEqual([`c:${created.id}`]);
    expect([...indexes.get('project')!.keys().keys()].map(Number).sort((a, b) => a - b)).toEqual(listed());

    // A third import with nothing changed deletes nothing (the sweep starts afresh each import).
    sim.clock.advance(DAY + 1000);
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
    expect(await pass()).toEqual([]);
  });
});
