import { afterEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, runOnce, uniqueName, type ConsumedRecord } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

type Value = Record<string, unknown> & { __op: string; __deleted: boolean };
const HOUR = 3_600_000;

/** The topic's latest record per key (JSON of the key): what a compacting consumer ends with; null = tombstone. */
function latest(records: readonly ConsumedRecord[]): Map<string, Value | null> {
  const out = new Map<string, Value | null>();
  for (const r of records) out.set(JSON.stringify(r.key), r.value as Value | null);
  return out;
}
const live = (m: Map<string, Value | null>) => [...m].filter(([, v]) => v !== null && !v.__deleted);

/**
 * Leads are read incrementally (`updated_since`, `sort=update_time ASC`) with deletes by a daily id scan.
 * The oracle is the local Pipedrive's store: after each run the lead and lead_lead_label topics hold its
 * live leads and their labels, lead_history every version the runs saw.
 */
describe('leads, incremental', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const once = async (env: Record<string, string>) => {
    const { code, lines, events } = await runOnce(env);
    expect(code, lines.slice(-10).join('\n')).toBe(0);
    return events;
  };
  /** The store's live leads (not deleted, not archived: those leave `/v1/leads`) and their label links. */
  const storeLeads = () => sim!.store.v1.leads.rows.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived);
  const expectTopicsEqualStore = async (prefix: string) => {
    const leads = latest(await readTopic(`${prefix}.lead`));
    expect(new Map(live(leads).map(([, v]) => [v!.id, v!.title]))).toEqual(new Map(storeLeads().map((r) => [r.data.uuid, r.data.title])));
    const labels = latest(await readTopic(`${prefix}.lead_lead_label`));
    const want = storeLeads().flatMap((r) => r.data.label_ids.map((l) => `${r.data.uuid}/${l}`));
    expect(live(labels).map(([, v]) => `${String(v!.lead_id)}/${String(v!.label_id)}`).sort()).toEqual(want.sort());
    return leads;
  };

  it('a lead changed, added, deleted or archived in Pipedrive shows up right in the topics (deletes by the daily id scan)', { timeout: 180_000 }, async () => {
    sim = await startSimulator({ seed: 23, deals: 300, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('leadinc');
    const env = pipelineEnv(sim, prefix, { TABLES: 'lead', HISTORY_REBUILD: 'off', METRICS_PORT: '0' });
    await once(env);
    await expectTopicsEqualStore(prefix);
    expect(storeLeads().length).toBeGreaterThan(4);

    const [changed, deleted, archived] = storeLeads();
    const labelIds = sim.store.v1.leads.labelList().map((l) => l.data.uuid);
    const person = sim.store.persons.all()[0]!.id;
    sim.clock.advance(3000);
    await api(sim.baseUrl, sim.token, 'PATCH', `/v1/leads/${changed!.data.uuid}`, { title: 'changed once', label_ids: [labelIds[0]] });
    await once(env);
    // A second change within the same second (the clock stands), after a pass read the first: both
    // versions reach lead_history, the last one the topic.
    await api(sim.baseUrl, sim.token, 'PATCH', `/v1/leads/${changed!.data.uuid}`, { title: 'changed twice', label_ids: [labelIds[1], labelIds[2]] });
    const added = await api(sim.baseUrl, sim.token, 'POST', '/v1/leads', { title: 'added', person_id: person, label_ids: [labelIds[0]] });
    await api(sim.baseUrl, sim.token, 'DELETE', `/v1/leads/${deleted!.data.uuid}`);
    await api(sim.baseUrl, sim.token, 'PATCH', `/v1/leads/${archived!.data.uuid}`, { is_archived: true });
    await once(env);
    // Changes and additions arrive with the next pass; the deleted and the archived lead are still there
    // (they left the list without a trace in updated_since) until the daily scan.
    let leads = latest(await readTopic(`${prefix}.lead`));
    expect(leads.get(JSON.stringify({ id: changed!.data.uuid }))).toMatchObject({ title: 'changed twice', __op: 'u' });
    expect(leads.get(JSON.stringify({ id: added.id }))).toMatchObject({ title: 'added', __op: 'c' });
    expect(leads.get(JSON.stringify({ id: deleted!.data.uuid }))).toMatchObject({ __deleted: false });

    sim.clock.advance(25 * HOUR);
    await once(env);
    leads = await expectTopicsEqualStore(prefix);
    for (const gone of [deleted!, archived!]) {
      const records = (await readTopic(`${prefix}.lead`)).filter((r) => (r.key as { id: string }).id === gone.data.uuid);
      expect(records.map((r) => (r.value as Value | null)?.__op ?? null).slice(-2), `${gone.data.uuid}: a delete record, then a tombstone`).toEqual(['d', null]);
    }
    const history = (await readTopic(`${prefix}.lead_history`)).filter((r) => (r.key as { id: string }).id === changed!.data.uuid).map((r) => (r.value as Value).title);
    expect(history).toContain('changed once');
    expect(history.at(-1)).toBe('changed twice');

    // A quiet pass after that: one /v1/leads call (the cursor second), nothing published.
    sim.clock.advance(60_000);
    const calls: string[] = [];
    sim.interceptors.push((req, _res, next) => {
      if (req.originalUrl.split('?')[0] === '/v1/leads') calls.push(req.originalUrl);
      next();
    });
    const events = await once(env);
    expect(events.filter((e) => e.event === 'batch-committed' && e.table === 'lead')).toEqual([]);
    expect(calls, 'one /v1/leads call from the cursor second').toHaveLength(1);
    expect(new URLSearchParams(calls[0]!.split('?')[1]).get('updated_since')).not.toBeNull();
  });
});
