import { describe, expect, it } from 'vitest';
import { PAGE, Paged } from '../../src/capture/paged.ts';

const f64 = (n: number) => new Float64Array(n).fill(-1);
const concat = (chunks: Float64Array[]) => Float64Array.from(chunks.flatMap((c) => [...c]));

describe('Paged (typed arrays in pages of 65,536)', () => {
  it('over chunks of any shape: the same elements as their concatenation, and it grows from there', () => {
    const sizes = [[3 * PAGE + 17], [PAGE, PAGE, 5], [7, PAGE + 3, 2 * PAGE - 1], [PAGE - 1], [0, 10, 0]];
    for (const shape of sizes) {
      let next = 0;
      const chunks = shape.map((n) => Float64Array.from({ length: n }, () => next++));
      const oracle = [...concat(chunks)];
      const p = Paged.of(f64, chunks);
      const n = oracle.length;
      expect(oracle.every((v, i) => p.get(i) === v), String(shape)).toBe(true);
      // Growing past the end: the short last page is filled out, new pages start at the initial value.
      let fresh = true;
      for (let i = n; i < n + PAGE + 10; i++) {
        p.ensure(i);
        fresh &&= p.get(i) === -1;
        p.set(i, i * 2);
        oracle.push(i * 2);
      }
      expect(fresh, 'new elements start at the initial value').toBe(true);
      p.set(0, 42);
      oracle[0] = 42;
      expect([...concat(p.views(oracle.length))]).toEqual(oracle);
    }
  });

  it('takes page-aligned chunks as views (a snapshot file is not copied)', () => {
    const whole = Float64Array.from({ length: 2 * PAGE + 5 }, (_, i) => i);
    const p = Paged.of(f64, [whole]);
    whole[PAGE + 1] = -7;
    whole[2 * PAGE + 2] = -9;
    expect(p.get(PAGE + 1)).toBe(-7);
    expect(p.get(2 * PAGE + 2)).toBe(-9);
    expect(p.views(2 * PAGE + 5).map((v) => v.buffer === whole.buffer)).toEqual([true, true, true]);
  });
});
