import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import type { ChangeEvent } from '../../src/capture/change.ts';
import { DeleteSuspects } from '../../src/capture/delete-hints.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import { KeyIndex } from '../../src/capture/key-index.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { sourceFor } from '../../src/capture/sources.ts';
import type { TableSource } from '../../src/capture/table-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { api } from '../integration/support/pipedrive.ts';
import { drainPass, plain } from './support/sources.ts';

/**
 * Delete webhooks' ids, confirmed against the local Pipedrive (its store and its request accounting are
 * the oracle): gone (soft-deleted or purged) → deleted now; live or never published → nothing, no call for
 * an id the table never held.
 */
describe('hinted deletes', () => {
  let sim: Simulator;
  let client: PipedriveClient;
  let source: TableSource;
  let suspects: DeleteSuspects;
  let indexes: Map<string, KeyIndex>;

  /** Polls until the source has nothing, committing each batch; the events of the round. */
  const round = (): Promise<ChangeEvent[]> => drainPass(source, indexes);
  const getPersonCalls = () => sim.rateLimit.stats().byOperation.getPerson?.requests ?? 0;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 21, deals: 20, clock: new SimClock({ start: new Date('2026-05-01T08:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
    indexes = new Map();
    for (const t of ['person', 'person_email', 'person_phone']) indexes.set(t, new KeyIndex(tableByName(t)));
    const ctx: EmitContext = { spec: plain(tableByName('person')), tableOf: (x) => plain(tableByName(x)), indexes };
    suspects = new DeleteSuspects();
    source = sourceFor(ctx, client, initialOffset, { historyRebuild: 'off', recentsGate: false, deleteSuspects: suspects });
    await round();
    sim.clock.advance(30_000);
    await round();
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('a soft-deleted person is deleted with its emails and phones; a live one and an id never published are not', async () => {
    const [victim, survivor] = sim.store.persons.all().filter((p) => p.deletedAtMs === null);
    const emails = indexes.get('person_email')!.childrenOf({ id: victim!.id }).length;
    expect(emails, 'the victim has emails to delete').toBeGreaterThan(0);
    await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${victim!.id}`);
    for (const id of [victim!.id, survivor!.id, 9_999_999]) suspects.add(id);
    const calls = getPersonCalls();
    sim.clock.advance(30_000);
    const events = await round();
    expect(events.filter((e) => e.table === 'person').map((e) => [e.op, e.key])).toEqual([['d', { id: victim!.id }]]);
    expect(events.filter((e) => e.table === 'person_email')).toHaveLength(emails);
    expect(events.every((e) => e.op === 'd')).toBe(true);
    // Two reads back: the victim and the survivor; none for the id the table never held.
    expect(getPersonCalls() - calls).toBe(2);
    expect(suspects.size).toBe(0);
    expect(indexes.get('person')!.has(String(victim!.id))).toBe(false);
    expect(indexes.get('person')!.has(String(survivor!.id))).toBe(true);
  });

  it('a person Pipedrive no longer has at all (purged: the get-one answers 404) is deleted; a failed read keeps the id for the next pass', async () => {
    // A key the topic holds whose row is gone for good (purged 30 days after its delete): put in the index
    // directly, as the key index would hold it after a restart.
    const purged = 8_888_888;
    expect(sim.store.persons.all().some((p) => p.id === purged)).toBe(false);
    indexes.get('person')!.apply({ key: { id: purged }, row: { id: purged }, op: 'c' });
    suspects.add(purged);
    sim.faults.add({ kind: 'status', status: 503, operation: 'getPerson', times: 1 });
    await expect(source.poll()).rejects.toThrow(/503/);
    expect(suspects.size, 'kept for the next pass').toBe(1);
    const events = await round();
    expect(events.map((e) => [e.table, e.op, e.key])).toEqual([['person', 'd', { id: purged }]]);
    expect(suspects.size).toBe(0);
  });
});
