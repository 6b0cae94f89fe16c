import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { seedDeals } from '../../src/simulator/seed.ts';
import { createStore, type SimStore } from '../../src/simulator/store/index.ts';
import { V1_RATIOS } from '../../src/simulator/store/v1-seed.ts';
import { T0, T0_SEC } from './helpers.ts';

function account(seed: number, deals: number): SimStore {
  const store = createStore(new SimClock({ start: T0, frozen: true }));
  seedDeals(store, seed, deals);
  return store;
}

const snapshot = (s: SimStore) => ({
  notes: s.v1.notes.rows.all().map((r) => [r.addSec, r.updateSec, r.data]),
  files: s.v1.files.rows.all().map((r) => [r.addSec, r.data]),
  leads: s.v1.leads.rows.all().map((r) => [r.addSec, r.data]),
  calls: s.v1.callLogs.rows.all().map((r) => r.data),
  mail: s.v1.mail.messages.all().map((r) => r.data),
  projects: s.v1.projects.projects.all().map((r) => r.data),
  tasks: s.v1.projects.tasks.all().map((r) => r.data),
  goals: s.v1.goals.list().map((r) => r.data),
});

describe('seeded v1 data', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(snapshot(account(7, 300))).toEqual(snapshot(account(7, 300)));
    expect(snapshot(account(8, 300)).notes).not.toEqual(snapshot(account(7, 300)).notes);
  });

  it('comes in proportion to the deals, attached to real rows, inside the last 90 days', () => {
    const deals = 2000;
    const s = account(3, deals);
    const near = (n: number, ratio: number) => expect(n).toBe(Math.max(1, Math.round(deals * ratio)));
    near(s.v1.notes.rows.table.size, V1_RATIOS.notes);
    near(s.v1.files.rows.table.size, V1_RATIOS.files);
    near(s.v1.leads.rows.table.size, V1_RATIOS.leads);
    near(s.v1.callLogs.rows.table.size, V1_RATIOS.callLogs);
    near(s.v1.mail.threads.table.size, V1_RATIOS.mailThreads);
    near(s.v1.projects.projects.table.size, V1_RATIOS.projects);
    expect(s.v1.mail.messages.table.size).toBeGreaterThanOrEqual(s.v1.mail.threads.table.size);
    for (const n of s.v1.notes.rows.all()) {
      expect(n.addSec).toBeGreaterThanOrEqual(T0_SEC - 90 * 86_400);
      expect(n.updateSec).toBeGreaterThanOrEqual(n.addSec);
      expect(n.updateSec).toBeLessThanOrEqual(T0_SEC);
      if (n.data.deal_id !== null) expect(n.addSec).toBeGreaterThanOrEqual(s.deals.table.get(n.data.deal_id)!.addSec);
      else expect(s.persons.getRow(n.data.person_id!)).toBeDefined();
    }
    const notes = s.v1.notes.rows.all();
    for (let i = 1; i < notes.length; i++) expect(notes[i]!.addSec).toBeGreaterThanOrEqual(notes[i - 1]!.addSec);
    for (const l of s.v1.leads.rows.all()) expect(l.data.person_id === null || s.persons.getRow(l.data.person_id) !== undefined).toBe(true);
    const labels = new Set(s.v1.leads.labelList().map((l) => l.data.uuid));
    for (const l of s.v1.leads.rows.all()) for (const id of l.data.label_ids) expect(labels.has(id)).toBe(true);
  });

  it('every account has its users, activity types, lead labels, filters — outside the recents window', () => {
    const s = createStore(new SimClock({ start: T0, frozen: true }));
    expect(s.v1.users.list().map((u) => u.id)).toEqual([1, 2, 3, 4, 5]);
    expect(s.v1.activityTypes.list().map((t) => t.data.key_string)).toEqual(['call', 'meeting', 'task', 'deadline', 'email', 'lunch']);
    expect(s.v1.leads.labelList().map((l) => l.data.name)).toEqual(['Hot', 'Warm', 'Cold']);
    expect(s.v1.filters.list().length).toBeGreaterThan(5);
    for (const r of [...s.v1.users.list(), ...s.v1.activityTypes.list()]) expect(r.updateSec).toBeLessThan(T0_SEC - 30 * 86_400);
    expect(s.v1.notes.rows.table.size).toBe(0);
  });
});
