import { describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import { initialOffset, parseOffset, type TableOffset } from '../../src/capture/offset.ts';
import { markerTables, nextGeneration, resyncComplete, resyncOffset, resyncPending } from '../../src/capture/resync.ts';
import { Resyncs } from '../../src/producer-resync.ts';

/** The producer's re-sync bookkeeping: what the offset keeps, when a re-import counts as complete, which topics get markers. */
describe('re-sync offsets', () => {
  const deal = tableByName('deal');
  const person = tableByName('person');
  const synced: TableOffset = {
    ...initialOffset,
    cursorMs: 1_000,
    snapshotDone: true,
    lastIdScanMs: 500,
    emittedAtCursor: { '1': 'h' },
    archived: { ...initialOffset, cursorMs: 900, snapshotDone: true },
    customColumns: { abc: 'region' },
    customFieldTypes: { abc: 'varchar' },
  };

  it('starts over from the initial offset, keeping the frozen custom column names and types', () => {
    const o = resyncOffset(synced, 7, 1234);
    expect(o).toEqual({ ...initialOffset, customColumns: { abc: 'region' }, customFieldTypes: { abc: 'varchar' }, resync: { generation: 7, startedAt: 1234, done: false } });
    expect(resyncPending(o)).toBe(true);
    expect(resyncPending({ ...o, resync: { ...o.resync!, done: true } })).toBe(false);
    expect(resyncPending(synced)).toBe(false);
    // The state topic reads it back.
    expect(parseOffset('deal', JSON.parse(JSON.stringify(o)))).toEqual(o);
    expect(() => parseOffset('deal', { ...o, resync: { generation: '7' } })).toThrow(/offset of table "deal" is not readable/);
  });

  it('is complete once the first pass, any backfill or import, and the archived list are done', () => {
    const start = resyncOffset(synced, 7, 1234);
    expect(resyncComplete(deal, start)).toBe(false);
    const mainDone = { ...start, cursorMs: 2_000, snapshotDone: true };
    expect(resyncComplete(deal, { ...mainDone, backfill: { untilMs: 1, recentDone: true, cursorMs: null, emittedAtCursor: {} } })).toBe(false);
    expect(resyncComplete(deal, mainDone)).toBe(false); // deals: the archived list is not read yet
    expect(resyncComplete(deal, { ...mainDone, archived: { ...initialOffset, snapshotDone: true } })).toBe(true);
    expect(resyncComplete(person, mainDone)).toBe(true);
    expect(resyncComplete(person, { ...mainDone, import: { startedMs: 1, resumeAt: 'end' } })).toBe(false);
  });

  it('marks the table, its child tables and its history table, not its change log', () => {
    expect(markerTables(deal)).toEqual(['deal', 'deal_history']);
    expect(markerTables(person)).toEqual(['person', 'person_email', 'person_phone']);
  });

  it('numbers generations by request time, above any earlier one', () => {
    expect(nextGeneration(5_000, [undefined, 10])).toBe(5_000);
    expect(nextGeneration(5_000, [5_000])).toBe(5_001);
  });
});

describe('re-sync requests', () => {
  const resyncs = new Resyncs('c1', ['deal', 'person']);

  it('refuses tables the connector does not sync, naming the ones it does', async () => {
    await expect(resyncs.request(['activity'])).rejects.toThrow('table "activity" cannot be re-synced (the connector does not sync it (TABLES)); its tables: deal, person (or "all")');
    await expect(resyncs.request(['person_email'])).rejects.toThrow(/it is synced with person: re-sync person/);
    await expect(resyncs.request(['nope'])).rejects.toThrow(/there is no such table/);
    await expect(resyncs.request([])).rejects.toThrow(/no table named/);
  });

  it('fails requests not started when the producer stops', async () => {
    const pending = resyncs.request('all');
    resyncs.stopped();
    await expect(pending).rejects.toThrow(/re-sync of deal, person: the producer of connector c1 stopped before it started/);
  });
});
