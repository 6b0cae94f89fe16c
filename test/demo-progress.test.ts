import { describe, expect, it } from 'vitest';
import { ProgressLine, Rate, count, duration, eta } from '../src/demo-progress.ts';

function output(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns, write: (t: string) => writes.push(t) } };
}

describe('demo progress', () => {
  it('on a terminal, one line rewritten in place, ended by a newline', () => {
    const { writes, out } = output(true, 80);
    const line = new ProgressLine(out, 5000, () => 0);
    line.update('1/2 tables');
    line.update('2/2 tables');
    line.done();
    expect(writes).toEqual(['\r\x1b[2K1/2 tables', '\r\x1b[2K2/2 tables', '\r\x1b[2K2/2 tables\n']);
    expect(writes.join('').split('\n')).toHaveLength(2); // one line on the screen, then the next phase
  });

  it('on a terminal, a line wider than the terminal is cut (a wrapped line cannot be rewritten)', () => {
    const { writes, out } = output(true, 10);
    new ProgressLine(out).update('0123456789abcdef');
    expect(writes).toEqual(['\r\x1b[2K01234567…']);
  });

  it('elsewhere (CI, a pipe), plain lines at most every plainEveryMs, and the final state', () => {
    const { writes, out } = output(false);
    let now = 0;
    const line = new ProgressLine(out, 5000, () => now);
    for (; now <= 12_000; now += 1000) line.update(`t=${now}`);
    line.done('finished');
    expect(writes).toEqual(['t=0\n', 't=5000\n', 't=10000\n', 'finished\n']);
    expect(writes.join('')).not.toMatch(/[\r\x1b]/);
  });

  it('rates over a sliding window; no rate before a second of samples', () => {
    const r = new Rate(5000);
    r.add(0, 0);
    expect(r.perSecond()).toBeUndefined();
    r.add(1000, 100);
    expect(r.perSecond()).toBe(100);
    for (let t = 2000; t <= 10_000; t += 1000) r.add(t, t < 6000 ? 100 * (t / 1000) : 500); // stalls after 5 s
    expect(r.perSecond()).toBe(0);
  });

  it('ETA: remaining at the rate, "—" with no basis', () => {
    expect(eta(100, 10)).toBe('10 s');
    expect(eta(0, undefined)).toBe('0 s');
    expect(eta(100, 0)).toBe('—');
    expect(eta(100, undefined)).toBe('—');
    expect(eta(6000, 40)).toBe('2 min 30 s');
    expect(duration(58.2)).toBe('59 s');
    expect(duration(59.2)).toBe('1 min 00 s');
    expect(count(1234567.4)).toBe('1,234,567');
  });
});
