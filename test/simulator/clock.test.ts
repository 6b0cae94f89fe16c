import { afterEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { client, T0, T0_SEC, type DataBody } from './helpers.ts';

describe('SimClock', () => {
  it('runs with real time plus an offset by default', () => {
    const c = new SimClock();
    expect(Math.abs(c.nowMs() - Date.now())).toBeLessThan(50);
    c.advance(3_600_000);
    expect(Math.abs(c.nowMs() - Date.now() - 3_600_000)).toBeLessThan(50);
    c.set(T0);
    expect(Math.abs(c.nowMs() - T0.getTime())).toBeLessThan(50);
    expect(c.frozen).toBe(false);
  });

  it('freezes, advances and sets deterministically, and resumes from where it stood', () => {
    const c = new SimClock({ start: T0, frozen: true });
    expect(c.now()).toEqual(T0);
    c.advance(1_500);
    expect(c.nowSeconds()).toBe(T0_SEC + 1);
    c.set(new Date('2030-01-01T00:00:00Z'));
    expect(c.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    c.unfreeze();
    expect(Math.abs(c.nowMs() - Date.parse('2030-01-01T00:00:00Z'))).toBeLessThan(50);
    c.freeze();
    const pinned = c.nowMs();
    expect(c.nowMs()).toBe(pinned);
  });

  it('rejects nonsense', () => {
    const c = new SimClock();
    expect(() => c.advance(Number.NaN)).toThrow(RangeError);
    expect(() => c.set(new Date('nope'))).toThrow(RangeError);
  });
});

describe('/_sim/clock admin endpoint', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.close();
  });

  it('reads and moves the clock without the API token, and writes follow it', async () => {
    sim = await startSimulator({ clock: new SimClock({ start: T0, frozen: true }) });
    const post = async (body: unknown) =>
      fetch(`${sim.baseUrl}/_sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const got = await (await fetch(`${sim.baseUrl}/_sim/clock`)).json();
    expect(got).toEqual({ success: true, data: { now: T0.toISOString(), now_seconds: T0_SEC, frozen: true } });

    expect((await post({ advanceMs: 61_000 })).status).toBe(200);
    const created = await client(sim).post<DataBody>('/api/v2/deals', { title: 'later' });
    expect(created.body.data.add_time).toBe('2026-01-15T12:01:01Z');

    type ClockBody = { data: { now: string; frozen: boolean } };
    const set = (await (await post({ set: '2026-02-01T00:00:00Z' })).json()) as ClockBody;
    expect(set.data.now).toBe('2026-02-01T00:00:00.000Z');
    expect(((await (await post({ freeze: false })).json()) as ClockBody).data.frozen).toBe(false);

    for (const bad of [{}, { advanceMs: 'x' }, { set: 'yesterday' }, { freeze: 1 }]) {
      const r = await post(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(await r.json()).toMatchObject({ success: false });
    }
  });
});
