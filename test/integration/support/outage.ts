// Helpers of test/integration/outage.test.ts: a deal-only change stream against the local Pipedrive,
// watching the producer and sink processes, reading their retry logs, and waiting until the topic and
// the sink have caught up with the source.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deal } from '../../../src/catalog/tables/deal.ts';
import type { Dependency } from '../../../src/retry.ts';
import type { Simulator } from '../../../src/simulator/server.ts';
import { mulberry32 } from '../../../src/simulator/prng.ts';
import { canonicalRows } from './compare.ts';
import { parseJsonLine, readTopic, type CliRun, type ConsumedRecord } from './harness.ts';
import { api, listAllDeals } from './pipedrive.ts';

export type DealValue = Record<string, unknown> & { id: number; __op: string; __synced_ms: number };
export interface Endpoints {
  brokers: string[];
  registryUrl: string;
}

/**
 * Changes deals through the API as a user would, one step every `everyMs` until stop(): updates (a third
 * of them changed again within the same second), creates and deletes — never of the deals in `leaveAlone`,
 * which the test changes itself. Ids are tracked locally, so a step is one or two requests. stop()
 * rethrows a failed request: the workload must not fail silently.
 */
export function startDealChanges(sim: Simulator, seed: number, everyMs: number, opts: { leaveAlone?: ReadonlySet<number> } = {}): { stop(): Promise<number> } {
  const rnd = mulberry32(seed);
  const call = (method: string, path: string, body?: unknown) => api(sim.baseUrl, sim.token, method, path, body);
  let live: number[] | undefined;
  let steps = 0;
  let stopped = false;
  const step = async () => {
    live ??= (await listAllDeals(sim.baseUrl, sim.token)).filter((d) => d.is_deleted !== true && !opts.leaveAlone?.has(Number(d.id))).map((d) => Number(d.id));
    const id = live[Math.floor(rnd() * live.length)]!;
    const r = rnd();
    if (r < 0.15) {
      const created = await call('POST', '/api/v2/deals', { title: `Outage deal ${steps}`, value: Math.round(rnd() * 10_000) });
      live.push(Number(created.id));
    } else if (r < 0.25 && live.length > 50) {
      await call('DELETE', `/api/v2/deals/${id}`);
      live.splice(live.indexOf(id), 1);
    } else {
      const change = [{ title: `Changed ${steps}` }, { value: Math.round(rnd() * 50_000) }, { status: ['won', 'lost', 'open'][Math.floor(rnd() * 3)] }][Math.floor(rnd() * 3)];
      await call('PATCH', `/api/v2/deals/${id}`, change);
      if (rnd() < 0.33) await call('PATCH', `/api/v2/deals/${id}`, { title: `Changed again ${steps}` });
    }
    steps++;
  };
  const loop = (async () => {
    while (!stopped) {
      await step();
      await sleep(everyMs);
    }
  })();
  loop.catch(() => undefined); // reported by stop(), not as an unhandled rejection meanwhile
  return {
    async stop() {
      stopped = true;
      await loop;
      return steps;
    },
  };
}

/** kafkajs' own connection errors: dozens a second while a broker is down, and no news to the reader. */
const NOISE = /"event":"kafka-(error|warning)"/;

/**
 * For failure messages: per run its exit, the last `n` lines other than kafkajs' connection noise, and
 * its very last line (which may be noise, or the fatal error printed on exit).
 */
export function lastLines(runs: Record<string, CliRun>, n = 25): string {
  return Object.entries(runs)
    .map(([name, r]) => {
      const story = r.lines.filter((l) => !NOISE.test(l));
      return [
        `--- ${name} (exit: ${r.child.exitCode ?? r.child.signalCode ?? 'still running'}), last ${n} of ${story.length} lines without kafka-error/warning (${r.lines.length - story.length} of those) ---`,
        ...story.slice(-n),
        `--- ${name}: its last line ---`,
        r.lines.at(-1) ?? '(no output)',
      ].join('\n');
    })
    .join('\n');
}

/** Waits `ms`, failing at once (with the exit code and last lines) if one of the runs exits meanwhile. */
export async function whileAlive(ms: number, runs: Record<string, CliRun>, during: string): Promise<void> {
  const ac = new AbortController();
  const exited = Object.entries(runs).map(([name, r]) =>
    r.exit.then((code) => {
      if (!ac.signal.aborted) throw new Error(`${name} exited (${code}) ${during}\n${lastLines(runs)}`);
    }),
  );
  try {
    await Promise.race([sleep(ms, undefined, { signal: ac.signal }), ...exited]);
  } finally {
    ac.abort();
  }
}

/**
 * Runs `fn`, then writes every run's whole output to `<logDir>/<name>.log` (soft assertions fail the test
 * without throwing, so always); a thrown failure gets their last lines and those paths appended.
 */
export async function explained<T>(runs: Record<string, CliRun>, logDir: string, fn: () => Promise<T>): Promise<T> {
  const save = () =>
    Object.entries(runs).map(([name, r]) => {
      const file = join(logDir, `${name}.log`);
      writeFileSync(file, r.lines.join('\n') + '\n');
      return file;
    });
  try {
    const result = await fn();
    save();
    return result;
  } catch (e) {
    const files = save();
    if (e instanceof Error && !e.message.includes('without kafka-error/warning')) e.message += `\n${lastLines(runs)}`;
    if (e instanceof Error) e.message += `\nfull output: ${files.join(' ')}`;
    throw e;
  }
}

/** The `retrying` lines naming `dependency`, and whether a `recovered` line for it came after the first of them. */
export function retryStory(lines: readonly string[], dependency: Dependency): { retrying: number; recoveredAfter: boolean; summary: string } {
  const parsed = lines.map(parseJsonLine);
  const first = parsed.findIndex((l) => l?.event === 'retrying' && l.dependency === dependency);
  const retrying = parsed.filter((l) => l?.event === 'retrying' && l.dependency === dependency).length;
  const recoveredAfter = first >= 0 && parsed.slice(first).some((l) => l?.event === 'recovered' && l.dependency === dependency);
  const events = [...new Set(parsed.flatMap((l) => (l && typeof l.event === 'string' ? [l.event] : [])))];
  return { retrying, recoveredAfter, summary: `${retrying} "retrying" lines for ${dependency}, recovered after: ${recoveredAfter}; events seen: ${events.join(', ')}` };
}

/** Topic values in the shape of API rows (timestamps as Date, dates as Date), for canonicalRows. */
export function asApiRows(values: readonly DealValue[]): Array<Record<string, unknown>> {
  const stamps = deal.columns.filter((c) => c.type === 'timestamp').map((c) => c.name);
  const dates = deal.columns.filter((c) => c.type === 'date').map((c) => c.name);
  return values.map((v) => ({
    ...v,
    ...Object.fromEntries(stamps.map((c) => [c, v[c] === null || v[c] === undefined ? null : new Date(v[c] as number)])),
    ...Object.fromEntries(dates.map((c) => [c, v[c] === null || v[c] === undefined ? null : new Date((v[c] as number) * 86_400_000)])),
  }));
}

/**
 * Waits until (1) the last committed version of every deal in the topic equals the local Pipedrive's deals,
 * and (2) the sink has applied every committed record of the topic. Returns the committed records.
 */
export async function waitCaughtUp(o: { sim: Simulator; topic: string; endpoints: Endpoints; runs: Record<string, CliRun>; sink: CliRun; timeoutMs: number }): Promise<ConsumedRecord[]> {
  const deadline = Date.now() + o.timeoutMs;
  const expected = canonicalRows(deal, await listAllDeals(o.sim.baseUrl, o.sim.token));
  let records: ConsumedRecord[] = [];
  let diff = '';
  for (;;) {
    records = await readTopic(o.topic, { endpoints: o.endpoints });
    const last = new Map<number, DealValue>();
    for (const r of records) if (r.value !== null) last.set(Number((r.value as DealValue).id), r.value as DealValue);
    const got = canonicalRows(deal, asApiRows([...last.values()]));
    const missing = [...expected].filter(([id, row]) => JSON.stringify(got.get(id)) !== JSON.stringify(row)).map(([id]) => id);
    if (missing.length === 0 && got.size === expected.size) break;
    diff = `${missing.length} of ${expected.size} deals differ or are missing in ${o.topic} (e.g. ${missing.slice(0, 5).join(', ')}); topic has ${got.size}`;
    if (Date.now() > deadline) throw new Error(`the topic never caught up with the local Pipedrive in ${o.timeoutMs} ms: ${diff}`);
    await whileAlive(1000, o.runs, 'while catching up');
  }
  // The last data record of each partition (commit markers take offsets too, but are never applied).
  const lastOffset = new Map<number, bigint>();
  for (const r of records) if ((lastOffset.get(r.partition) ?? -1n) < r.offset) lastOffset.set(r.partition, r.offset);
  const applied = () => {
    const upTo = new Map<number, bigint>();
    for (const l of o.sink.lines.map(parseJsonLine)) {
      if (l?.event === 'batch-applied' && l.topic === o.topic) upTo.set(Number(l.partition), BigInt(String(l.lastOffset)));
    }
    return [...lastOffset].filter(([p, off]) => (upTo.get(p) ?? -1n) < off);
  };
  while (applied().length > 0) {
    if (Date.now() > deadline) throw new Error(`the sink never applied ${o.topic} to its end in ${o.timeoutMs} ms; behind on partitions ${applied().map(([p, off]) => `${p} (last record ${off})`).join(', ')}`);
    await whileAlive(500, o.runs, 'while the sink catches up');
  }
  return records;
}

/** Where the topic's tombstones are, read raw (no registry needed, so also while it is down). */
export async function tombstoneOffsets(topic: string, endpoints: Endpoints): Promise<Array<{ partition: number; offset: bigint }>> {
  return (await readTopic(topic, { endpoints, decode: false })).filter((r) => r.value === null).map(({ partition, offset }) => ({ partition, offset }));
}

/** True when the sink logged a batch of `topic` applied through `offset` of `partition`. */
export function sinkApplied(sink: CliRun, topic: string, at: { partition: number; offset: bigint }): boolean {
  return sink.lines.map(parseJsonLine).some((l) => l?.event === 'batch-applied' && l.topic === topic && Number(l.partition) === at.partition && BigInt(String(l.lastOffset)) >= at.offset);
}

/** Versions published twice: the same content (all but __op and __synced_ms) under one key. */
export function duplicateVersions(records: readonly ConsumedRecord[]): number[] {
  const seen = new Set<string>();
  const dupes: number[] = [];
  for (const r of records) {
    if (r.value === null) continue;
    const { __synced_ms: _synced, __op: _op, ...content } = r.value as DealValue;
    const id = JSON.stringify(content);
    if (seen.has(id)) dupes.push(Number(content.id));
    seen.add(id);
  }
  return dupes;
}
