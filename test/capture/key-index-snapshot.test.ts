import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyIndex, keyString } from '../../src/capture/key-index.ts';
import { decodeSnapshot, encodeSnapshot, snapshotParts, SnapshotStore, SnapshotUnusable, type PartitionOffsets } from '../../src/capture/key-index-snapshot.ts';
import { tableByName } from '../../src/catalog/index.ts';
import type { Row } from '../../src/pipedrive/row.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const hashOfText = (t: string) => createHash('sha1').update(t).digest('base64url').slice(0, 12);

/** A source time: mostly whole seconds (Pipedrive's), some in ms (this process's clock), a few outside 32-bit seconds, or none. */
const timeOf = (r: () => number, i: number): number | undefined => {
  const p = r();
  return p < 0.7 ? 1_700_000_000_000 + i * 1000 : p < 0.85 ? 1_700_000_000_123 + i : p < 0.9 ? (r() < 0.5 ? -86_400_000 : 2 ** 32 * 1000 + i * 1000) : undefined;
};

const meta = { connector: 'acme', topic: 'acme.deal', clusterId: 'cluster-1', positions: new Map([[0, 120n], [1, 7n], [2, 0n]]) };
const now: PartitionOffsets[] = [
  { partition: 0, low: 0n, high: 150n },
  { partition: 1, low: 0n, high: 7n },
  { partition: 2, low: 0n, high: 3n },
];
const expectFor = (topic = 'acme.deal') => ({ connector: 'acme', topic, clusterId: 'cluster-1', now });

/** Every question the engine asks an index, answered by both, for the keys seen and a few never seen. */
function expectSameAnswers(a: KeyIndex, b: KeyIndex, keys: Iterable<string>, parents: Array<Record<string, unknown>> = []): void {
  expect(b.size).toBe(a.size);
  expect(new Map([...b.keys()].sort())).toEqual(new Map([...a.keys()].sort()));
  for (const k of new Set([...keys, 'absent', '999999999'])) {
    expect(b.has(k), k).toBe(a.has(k));
    expect(b.publishedAt(k), k).toBe(a.publishedAt(k));
    expect(b.hashOf(k), k).toBe(a.hashOf(k));
  }
  // Children come in no particular order (the engine deletes them all): compared as sets.
  const sorted = (rows: Row[]) => rows.map((x) => JSON.stringify(x)).sort();
  for (const p of parents) expect(sorted(b.childrenOf(p))).toEqual(sorted(a.childrenOf(p)));
}

describe('key index snapshots', () => {
  for (const [table, makeKey, parents] of [
    ['deal', (r: () => number) => ({ id: r() < 0.95 ? 1 + Math.floor(r() * 3000) : 2 ** 32 - 5 + Math.floor(r() * 10) }), []], // some beyond 32 bits
    ['lead', (r: () => number) => ({ id: `5f0c${Math.floor(r() * 300)}-uuid` }), []],
    ['activity_participant', (r: () => number) => ({ activity_id: 1 + Math.floor(r() * 40), person_id: 1 + Math.floor(r() * 15) }), Array.from({ length: 41 }, (_, i) => ({ id: i }))],
  ] as const) {
    it(`${table}: a snapshot read back answers like the index it was taken of, and goes on like it`, () => {
      const spec = tableByName(table);
      const index = new KeyIndex(spec);
      const seen = new Set<string>();
      const r = rng(table.length * 31);
      const step = (i: number, target: KeyIndex[]) => {
        const key = makeKey(r) as Row;
        seen.add(keyString(spec, key));
        const op = r() < 0.2 ? 'd' : 'u';
        const sourceTsMs = timeOf(r, i);
        const hash = r() < 0.8 ? (r() < 0.02 ? `odd-${i}` : hashOfText(`${i}`)) : undefined;
        for (const t of target) t.apply({ key, row: key, op, sourceTsMs, hash });
      };
      for (let i = 0; i < 20_000; i++) step(i, [index]);
      if (table === 'deal') index.apply({ key: { id: '007' }, row: { id: '007' }, op: 'c' }); // a string id in a numeric table
      const copy = decodeSnapshot(encodeSnapshot(index, meta), spec, expectFor()).index;
      expectSameAnswers(index, copy, [...seen, '007', '7'], [...parents]);
      // The copy keeps working as an index: the same further changes give the same answers.
      for (let i = 20_000; i < 25_000; i++) step(i, [index, copy]);
      expectSameAnswers(index, copy, seen, [...parents]);
    });
  }

  it('the positions saved are those handed back, partition by partition', () => {
    const snap = decodeSnapshot(encodeSnapshot(new KeyIndex(tableByName('deal')), meta), tableByName('deal'), expectFor());
    expect([...snap.positions]).toEqual([[0, 120n], [1, 7n], [2, 0n]]);
  });

  it('refuses what does not describe a prefix of the topic as it is now, saying why', () => {
    const spec = tableByName('deal');
    const index = new KeyIndex(spec);
    index.apply({ key: { id: 1 }, row: { id: 1 }, op: 'c' });
    const bytes = encodeSnapshot(index, meta);
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(SnapshotUnusable);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(() => decodeSnapshot(bytes, spec, { ...expectFor(), clusterId: 'other' }))).toMatch(/another Kafka cluster/);
    expect(refused(() => decodeSnapshot(bytes, spec, expectFor('acme.person')))).toMatch(/another connector, topic or table/);
    expect(refused(() => decodeSnapshot(bytes, tableByName('person'), expectFor()))).toMatch(/another connector, topic or table/);
    // The topic was deleted and created again: its end is below the saved position.
    expect(refused(() => decodeSnapshot(bytes, spec, { ...expectFor(), now: [{ partition: 0, low: 0n, high: 5n }, now[1]!, now[2]!] }))).toMatch(/partition 0: saved position 120 is outside \[0, 5\]/);
    // Records were deleted below the saved position.
    expect(refused(() => decodeSnapshot(bytes, spec, { ...expectFor(), now: [now[0]!, { partition: 1, low: 9n, high: 20n }, now[2]!] }))).toMatch(/partition 1/);
    expect(refused(() => decodeSnapshot(bytes, spec, { ...expectFor(), now: [...now, { partition: 3, low: 0n, high: 0n }] }))).toMatch(/4 partitions, the snapshot 3/);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 3]! ^= 0xff;
    expect(refused(() => decodeSnapshot(damaged, spec, expectFor()))).toMatch(/checksum/);
    expect(refused(() => decodeSnapshot(Buffer.from('{"not":"a snapshot"}'), spec, expectFor()))).toMatch(/not a key index snapshot/);
  });

  it('format 3: a torn, re-checksummed or old-format file is refused with its reason; an unaligned buffer still loads', () => {
    const spec = tableByName('deal');
    const index = new KeyIndex(spec);
    for (let id = 1; id <= 1000; id++) index.apply({ key: { id }, row: { id }, op: id % 7 === 0 ? 'd' : 'c', sourceTsMs: id, hash: hashOfText(String(id)) });
    index.apply({ key: { id: 'x-1' }, row: { id: 'x-1' }, op: 'c', hash: 'odd hash' });
    const bytes = encodeSnapshot(index, meta);
    const headLen = bytes.readUInt32BE(8);
    expect((12 + headLen) % 8).toBe(0); // the arrays are viewed in place
    const refused = (b: Buffer) => {
      try {
        decodeSnapshot(b, spec, expectFor());
      } catch (err) {
        expect(err).toBeInstanceOf(SnapshotUnusable);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(bytes.subarray(0, bytes.length - 10))).toMatch(/torn file/);
    // A header rewritten (another format, or its checksum made to match a changed body) is caught too.
    const withHeader = (edit: (h: Record<string, unknown>) => void, body = bytes.subarray(12 + headLen)) => {
      const h = JSON.parse(bytes.subarray(12, 12 + headLen).toString('utf8')) as Record<string, unknown>;
      edit(h);
      const head = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(head.length);
      return Buffer.concat([bytes.subarray(0, 8), len, head, body]);
    };
    expect(refused(withHeader((h) => (h.format = 1)))).toMatch(/format 1, this version reads 3/);
    // Format 2 (times in ms and ids as doubles, before 32-bit words): refused, so the topic is read instead.
    expect(refused(withHeader((h) => (h.format = 2)))).toMatch(/format 2, this version reads 3/);
    expect(refused(withHeader((h) => (h.endian = h.endian === 'le' ? 'be' : 'le')))).toMatch(/machine/);
    // Slot 2's numeric id set to slot 1's, checksum recomputed: the contents contradict themselves.
    const body = Buffer.from(bytes.subarray(12 + headLen));
    const n = 1001;
    const idsAt = 2 * n + ((8 - ((2 * n) % 8)) % 8) + n * 4; // flags, nibbles, padding, times, then the ids
    body.writeUInt32LE(body.readUInt32LE(idsAt + 4), idsAt + 8);
    expect(refused(withHeader((h) => (h.bodySha256 = createHash('sha256').update(body).digest('hex')), body))).toMatch(/inconsistent contents: .*appears twice/);
    // Read into a buffer at an odd place in memory: copied once, same answers.
    const odd = Buffer.alloc(bytes.length + 1).fill(0);
    bytes.copy(odd, 1);
    const copy = decodeSnapshot(odd.subarray(1), spec, expectFor()).index;
    expectSameAnswers(index, copy, ['1', '7', '1000', 'x-1']);
  });

  it('the store replaces a file atomically, readable only by its owner; a missing file is no snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kidx-'));
    const store = new SnapshotStore(dir, 'acme/eu');
    expect(store.read('acme.deal')).toBeUndefined();
    store.write('acme.deal', Buffer.from('one'));
    store.write('acme.deal', Buffer.from('two'));
    expect(readFileSync(store.pathOf('acme.deal'), 'utf8')).toBe('two');
    expect(store.pathOf('acme.deal').startsWith(join(dir, 'acme%2Feu'))).toBe(true);
    expect(statSync(store.pathOf('acme.deal')).mode & 0o777).toBe(0o600);
  });

  it('the store writes the parts (views of the index, nothing concatenated) as the same bytes; the file loads', () => {
    const spec = tableByName('deal');
    const index = new KeyIndex(spec);
    for (let id = 1; id <= 5000; id++) index.apply({ key: { id }, row: { id }, op: id % 9 === 0 ? 'd' : 'c', sourceTsMs: id * 1000, hash: hashOfText(String(id)) });
    index.apply({ key: { id: 'x' }, row: { id: 'x' }, op: 'c' });
    const store = new SnapshotStore(mkdtempSync(join(tmpdir(), 'kidx-')), 'acme');
    const fixed = { ...meta, now: new Date('2026-12-03T00:00:00Z') };
    store.write('acme.deal', snapshotParts(index, fixed));
    const file = store.read('acme.deal')!;
    expect(file.equals(encodeSnapshot(index, fixed))).toBe(true);
    expectSameAnswers(index, decodeSnapshot(file, spec, expectFor()).index, ['1', '9', '5000', 'x', '5001']);
  });

  it('a million keys encode and decode in well under a second each', () => {
    const spec = tableByName('deal');
    const index = new KeyIndex(spec);
    for (let id = 1; id <= 1_000_000; id++) index.apply({ key: { id }, row: { id }, op: 'c', sourceTsMs: (1_700_000_000 + id) * 1000, hash: hashOfText(String(id)) });
    let t = performance.now();
    const bytes = encodeSnapshot(index, meta);
    const encodeMs = performance.now() - t;
    t = performance.now();
    const copy = decodeSnapshot(bytes, spec, expectFor()).index;
    const decodeMs = performance.now() - t;
    expect(copy.size).toBe(1_000_000);
    expect(copy.hashOf('777777')).toBe(hashOfText('777777'));
    expect(bytes.length).toBeLessThan(19 * 1024 * 1024); // 18 bytes a key: Pipedrive's times are whole seconds (format 2 took 34)
    // Generous bounds for two shared cores; the point is seconds saved against a read of a million records.
    expect(encodeMs).toBeLessThan(3000);
    expect(decodeMs).toBeLessThan(3000);
  }, 60_000);
});
