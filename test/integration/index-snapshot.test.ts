import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import type { Logger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, uniqueName } from './support/harness.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

const DAY = 24 * 3_600_000;

/**
 * Key index snapshots (src/capture/key-index-snapshot.ts): a restart loads the deal index from its snapshot and
 * reads only what was written after it, and the index is right — deals purged while the producer was stopped
 * (found by the id scan, which works off the index alone) get their tombstones, no live deal gets one. A
 * damaged snapshot is not used: the whole topic is read, with the same outcome. The oracle is the local
 * Pipedrive's own list of deals and the topic as a plain consumer reads it.
 */
describe('key index snapshots across restarts', () => {
  let sim: Simulator;
  const prefix = uniqueName('kidx');
  const stateDir = mkdtempSync(join(tmpdir(), 'pcdc-state-'));
  const topic = `${prefix}.deal`;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 5, deals: 1500 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  /** One `run --once`: its log lines, as events with their fields. */
  async function runOnce(): Promise<Array<Record<string, unknown>>> {
    const lines: Array<Record<string, unknown>> = [];
    const log: Logger = (event, fields = {}) => lines.push({ event, ...fields });
    const config = loadProducerConfig({ ...pipelineEnv(sim, prefix), TABLES: 'deal', HISTORY_REBUILD: 'off', TOPIC_PARTITIONS: '3', STATE_DIR: stateDir });
    const run = startProducer(config, { metrics: createMetrics(), log, untilCaughtUp: true });
    const { failed } = await run.done;
    expect([...failed.keys()]).toEqual([]);
    return lines;
  }
  const keyRead = (lines: Array<Record<string, unknown>>) => lines.find((l) => l.event === 'topics-read' && (l.topics as string[]).includes(topic));

  /** Deal ids by the topic's last record per key: live (a value) or deleted (a tombstone). */
  async function topicState(): Promise<{ live: Set<number>; tombstoned: Set<number> }> {
    const last = new Map<number, unknown>();
    for (const r of await readTopic(topic)) last.set(Number((r.key as { id: number }).id), r.value);
    const live = new Set([...last].filter(([, v]) => v !== null && (v as { is_deleted?: boolean }).is_deleted !== true).map(([id]) => id));
    return { live, tombstoned: new Set([...last].filter(([, v]) => v === null).map(([id]) => id)) };
  }
  async function sourceLive(): Promise<Set<number>> {
    return new Set((await listAllDeals(sim.baseUrl, sim.token)).filter((d) => d.is_deleted !== true).map((d) => Number(d.id)));
  }
  /** Deletes deals while the producer is stopped and lets Pipedrive purge them (30 days) before it runs again. */
  async function deleteAndPurge(ids: number[]): Promise<void> {
    for (const id of ids) await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${id}`);
    sim.clock.advance(31 * DAY);
  }

  it('a restart reads only the tail after the snapshot, and deals purged meanwhile are deleted downstream', { timeout: 240_000 }, async () => {
    const first = await runOnce();
    expect(first.find((l) => l.event === 'key-index-snapshot-loaded')).toBeUndefined(); // nothing to load yet
    expect(Number(keyRead(first)?.records ?? 0)).toBe(0); // a new topic
    const written = first.filter((l) => l.event === 'key-index-snapshots-written').at(-1);
    expect(written?.keys).toBe(1500);

    const purged = [11, 222, 333, 1444];
    await deleteAndPurge(purged);
    const second = await runOnce();
    const loaded = second.find((l) => l.event === 'key-index-snapshot-loaded');
    expect(loaded?.keys, JSON.stringify(second.filter((l) => String(l.event).startsWith('key-index')))).toBe(1500);
    // The snapshot was written at the end of the first run: nothing of the deal topic is read again (a read
    // with nothing to fetch logs no line).
    expect(Number(keyRead(second)?.records ?? 0)).toBe(0);

    const source = await sourceLive();
    for (const id of purged) expect(source.has(id)).toBe(false);
    const state = await topicState();
    expect(state.live).toEqual(source);
    for (const id of purged) expect(state.tombstoned.has(id), `deal ${id} purged meanwhile`).toBe(true);
    expect([...state.tombstoned].sort((a, b) => a - b)).toEqual([...purged].sort((a, b) => a - b));
  });

  it('a damaged snapshot is not used: the whole topic is read, with the same outcome', { timeout: 240_000 }, async () => {
    const file = join(stateDir, encodeURIComponent(prefix), 'key-indexes', `${encodeURIComponent(topic)}.keys`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 10]! ^= 0x55;
    writeFileSync(file, bytes);
    const purged = [5, 777];
    await deleteAndPurge(purged);
    const third = await runOnce();
    const unused = third.find((l) => l.event === 'key-index-snapshot-unused');
    expect(unused?.reason).toMatch(/checksum/);
    expect(Number(keyRead(third)?.records)).toBeGreaterThanOrEqual(1500);
    const source = await sourceLive();
    const state = await topicState();
    expect(state.live).toEqual(source);
    for (const id of [11, 222, 333, 1444, ...purged]) expect(state.tombstoned.has(id), `deal ${id}`).toBe(true);
    // And it wrote a good one again.
    expect(third.filter((l) => l.event === 'key-index-snapshots-written').at(-1)?.keys).toBe(source.size);
  });
});
