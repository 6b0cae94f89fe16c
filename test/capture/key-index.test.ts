import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KeyIndex, keyString } from '../../src/capture/key-index.ts';
import { tableByName } from '../../src/catalog/index.ts';
import type { Row } from '../../src/pipedrive/row.ts';

/** The plain model the compact index must behave like: three maps, one entry per key. */
class ModelIndex {
  readonly live = new Map<string, Row>();
  readonly ts = new Map<string, number>();
  readonly hashes = new Map<string, string>();
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A content hash in the product's form: 12 base64url characters of a SHA-1. */
const hashOfText = (t: string) => createHash('sha1').update(t).digest('base64url').slice(0, 12);

/** A source time: mostly whole seconds (Pipedrive's), some in ms (this process's clock), a few outside 32-bit seconds, or none. */
const timeOf = (r: () => number, i: number): number | undefined => {
  const p = r();
  return p < 0.7 ? 1_700_000_000_000 + i * 1000 : p < 0.85 ? 1_700_000_000_123 + i : p < 0.9 ? (r() < 0.5 ? -86_400_000 : 2 ** 32 * 1000 + i * 1000) : undefined;
};

describe('KeyIndex (compact)', () => {
  for (const [table, makeKey] of [
    ['deal', (r: () => number) => ({ id: r() < 0.9 ? 1 + Math.floor(r() * 300) : 2 ** 32 - 5 + Math.floor(r() * 10) })], // some beyond 32 bits
    ['lead', (r: () => number) => ({ id: `5f0c${Math.floor(r() * 300)}-uuid` })],
    ['activity_participant', (r: () => number) => ({ activity_id: 1 + Math.floor(r() * 20), person_id: 1 + Math.floor(r() * 15) })],
    ['lead_lead_label', (r: () => number) => ({ label_id: `l${Math.floor(r() * 10)}`, lead_id: `lead-${Math.floor(r() * 30)}` })],
  ] as const) {
    it(`${table}: 20,000 random upserts, deletes and loads answer like three plain maps`, () => {
      const spec = tableByName(table);
      const index = new KeyIndex(spec);
      const model = new ModelIndex();
      const r = rng(table.length * 7919);
      for (let i = 0; i < 20_000; i++) {
        const key = makeKey(r) as Row;
        const k = keyString(spec, key);
        const op = r() < 0.2 ? 'd' : 'u';
        const sourceTsMs = timeOf(r, i);
        const hash = r() < 0.8 ? hashOfText(`${k} ${i}`) : undefined;
        if (r() < 0.5) index.apply({ key, row: key, op, sourceTsMs, hash });
        else index.load(key, op !== 'd', sourceTsMs, hash);
        if (sourceTsMs !== undefined) model.ts.set(k, sourceTsMs);
        if (hash !== undefined && op !== 'd') model.hashes.set(k, hash);
        else model.hashes.delete(k);
        if (op === 'd') model.live.delete(k);
        else model.live.set(k, key);
      }
      expect(index.size).toBe(model.live.size);
      expect(new Map([...index.keys()].sort())).toEqual(new Map([...model.live].sort()));
      for (const k of new Set([...model.ts.keys(), ...model.live.keys(), 'absent', '12345678901'])) {
        expect(index.has(k), k).toBe(model.live.has(k));
        expect(index.publishedAt(k), k).toBe(model.ts.get(k));
        expect(index.hashOf(k), k).toBe(model.live.has(k) ? model.hashes.get(k) : undefined);
      }
    });
  }

  it('child keys by parent: the live children of one parent, as rows', () => {
    const spec = tableByName('activity_participant');
    const index = new KeyIndex(spec);
    for (const person_id of [1, 2, 3]) index.apply({ key: { activity_id: 7, person_id }, row: { activity_id: 7, person_id }, op: 'c' });
    index.apply({ key: { activity_id: 8, person_id: 1 }, row: { activity_id: 8, person_id: 1 }, op: 'c' });
    index.apply({ key: { activity_id: 7, person_id: 2 }, row: { activity_id: 7, person_id: 2 }, op: 'd' });
    expect(index.childrenOf({ id: 7 })).toEqual([{ activity_id: 7, person_id: 1 }, { activity_id: 7, person_id: 3 }]);
  });

  it('a hash not in the 12-character form is kept as it is; a string id that looks like a number stays apart from it', () => {
    const index = new KeyIndex(tableByName('deal'));
    index.apply({ key: { id: 5 }, row: { id: 5 }, op: 'c', hash: 'not-base64url!' });
    expect(index.hashOf('5')).toBe('not-base64url!');
    index.apply({ key: { id: '007' }, row: { id: '007' }, op: 'c', hash: 'AAAAAAAAAAAA' });
    expect(index.hashOf('007')).toBe('AAAAAAAAAAAA');
    expect(index.hashOf('7')).toBeUndefined();
    expect(index.size).toBe(2);
  });

  it('a million integer keys with times (whole seconds, as Pipedrive\'s) and hashes take under 30 MB of heap, spare capacity included (the map-of-rows index took 190 MB; ids and times as doubles, 36 MB)', { timeout: 60_000 }, () => {
    const script = fileURLToPath(new URL('./support/key-index-heap.mts', import.meta.url));
    const bytes = Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '1000000'], { encoding: 'utf8' }));
    expect(bytes / 1e6).toBeGreaterThan(10); // it measured something
    expect(bytes / 1e6).toBeLessThan(30);
  });
});
