/**
 * Benchmark (not a test): the API tokens of a steady-state day, per table. A generated account (default
 * 100,000 deals) is synced once, then a day goes by on the local Pipedrive's clock in passes paced as the
 * producer paces them: at least the default POLL_INTERVAL_MS (30 s) apart, stretched by the token budget
 * share (the default TOKEN_BUDGET_SHARE, 10 %, of a Growth plan with 10 seats: 600,000 tokens a day) through
 * the producer's own TokenPacer, while 1 % of the deals change in the day, spread over it.
 * Each changed deal gets a field update; every 2nd also a note, every 4th an activity, every 10th a mail
 * message, every 20th a participant (a mix chosen for the benchmark, stated in bench/RESULTS.md).
 *
 * The table sources run in this process against the local Pipedrive, without Kafka (a batch counts as
 * committed when returned): what is measured is what the sources ask the API for, each call charged to the
 * table whose poll made it, at the official x-token-cost the local Pipedrive counts. Custom-field catalog
 * refreshes (hourly in the producer, 10 tokens a catalog) are not run here: they are charged by computation,
 * to the pacer too. Printed: tokens per table, the total, the number of passes and their mean interval (the
 * freshness the budget buys).
 *   node --import tsx bench/tokens-day.ts [deals] [hours]
 */
import { catalog, tableByName } from '../src/catalog/index.ts';
import { DEFAULT_TOKEN_BUDGET_SHARE } from '../src/config.ts';
import type { TableSpec } from '../src/catalog/types.ts';
import type { EmitContext } from '../src/capture/emit.ts';
import { KeyIndex } from '../src/capture/key-index.ts';
import { initialOffset } from '../src/capture/offset.ts';
import { needsKeyIndex, sourceFor } from '../src/capture/sources.ts';
import { TokenPacer } from '../src/capture/token-pacer.ts';
import type { TableSource } from '../src/capture/table-source.ts';
import { PipedriveClient } from '../src/pipedrive/client.ts';
import { SimClock } from '../src/simulator/clock.ts';
import { startSimulator } from '../src/simulator/server.ts';

const deals = Number(process.argv[2] ?? 100_000);
const hours = Number(process.argv[3] ?? 24);
const PASS_MS = 30_000; // POLL_INTERVAL_MS's default
const DAILY_BUDGET = 30_000 * 2 * 10; // Growth, 10 seats
const SHARE = DEFAULT_TOKEN_BUDGET_SHARE; // TOKEN_BUDGET_SHARE's default (auto, POLL_INTERVAL_MS unset)
const CATALOG_EVERY_MS = 3600_000; // the producer's CUSTOM_FIELDS_REFRESH_MS
const sim = await startSimulator({ seed: 3, deals, clock: new SimClock({ start: new Date('2026-06-01T06:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 1e12, burst: 1_000_000 } });
const spent = new Map<string, number>();
const recordsOf = new Map<string, number>();
const client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token });
/** Tokens the local Pipedrive counted (its own accounting, independent of the connector). */
const counted = () => sim.rateLimit.stats().tokensSpentTotal;
try {
  await client.getJson('/v1/users/me', {}, '/v1/users/me'); // the API's clock, before any schedule is set
  const top = [...catalog.values()].filter((t) => !['child', 'history', 'changelog'].includes(t.sync.kind));
  const indexes = new Map<string, KeyIndex>();
  for (const t of catalog.values()) if (t.sync.kind === 'child' || needsKeyIndex(t)) indexes.set(t.name, new KeyIndex(t));
  // Custom-field columns are the engine's (refreshed from the field catalogs): left out here.
  const plain = (t: TableSpec): TableSpec => ({ ...t, customFields: undefined });
  const tables: { name: string; source: TableSource }[] = top.map((t) => {
    const ctx: EmitContext = { spec: plain(t), tableOf: (n) => plain(tableByName(n)), indexes };
    return { name: t.name, source: sourceFor(ctx, client, initialOffset, { historyRebuild: 'off' }) };
  });

  /** One pass: every table polled until it has nothing new; returns the records published. */
  const pass = async (): Promise<number> => {
    let records = 0;
    for (const t of tables) {
      const before = counted();
      for (let b = await t.source.poll(); b; b = await t.source.poll()) {
        for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
        t.source.committed(b);
        records += b.events.length;
        recordsOf.set(t.name, (recordsOf.get(t.name) ?? 0) + b.events.length);
      }
      spent.set(t.name, (spent.get(t.name) ?? 0) + counted() - before);
    }
    return records;
  };

  const t0 = Date.now();
  let firstRecords = 0;
  // The first sync: passes until one publishes nothing (backfills go on over several passes).
  for (let n = await pass(); n > 0; n = await pass()) {
    firstRecords += n;
    sim.clock.advance(PASS_MS);
  }
  const firstSync = new Map(spent);
  const firstTotal = [...firstSync.values()].reduce((a, b) => a + b, 0);
  console.log(`first sync: ${firstTotal} tokens, ${firstRecords} records, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const perDeal = new Set(top.filter((t) => 'list' in t.sync && t.sync.list.forEachParent?.counters !== undefined && t.sync.list.forEachParent.batch === undefined).map((t) => t.name));
  const listTokens = [...firstSync].filter(([t]) => !perDeal.has(t)).reduce((n, [, v]) => n + v, 0);
  const listRecords = [...recordsOf].filter(([t]) => !perDeal.has(t)).reduce((n, [, v]) => n + v, 0);
  console.log(`list tables (all but ${[...perDeal].join(', ')}): ${listTokens} tokens for ${listRecords} records (children included) = ${((listTokens / listRecords) * 1000).toFixed(1)} per 1,000 (goal <= 25)`);
  console.log('first sync by table:', [...firstSync].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([t, v]) => `${t} ${v}`).join(', '));
  spent.clear();

  const dayMs = hours * 3600_000;
  // A day and a half of the same polling first, not counted: the day measured is a steady-state one — the
  // pacer's 24-hour window holds a day of history — and the daily work (re-imports, walks, id scans), due
  // about 24 and 48 hours after the first sync, comes in it exactly once, far from its edges (with a warm
  // day of 24 h it fell on the boundary: by the passes' timing it landed in the measured day or outside).
  const WARM_MS = 36 * 3600_000;
  let measuredFrom = -1;
  let changedBefore = 0;
  const changesPerDay = Math.round(deals / 100);
  const liveIds = sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived).map((r) => r.id);
  const party = { email_address: 'c@customer.example', name: 'C', linked_person_id: null };
  const catalogs = top.filter((t) => t.customFields !== undefined).length;
  const pacer = new TokenPacer({ share: SHARE, dailyBudget: () => DAILY_BUDGET, minIntervalMs: PASS_MS });
  const intervals: number[] = [];
  let changed = 0;
  let passes = 0;
  let catalogTokens = 0;
  let nextCatalogAt = 0;
  const t1 = Date.now();
  const start = sim.clock.nowMs();
  // The changes due by each moment of the day, spread evenly (1 % of the deals in 24 h).
  const dueBy = (elapsedMs: number) => Math.floor((elapsedMs * changesPerDay) / (24 * 3600_000));
  for (let elapsed = pacer.intervalMs(0); elapsed <= WARM_MS + dayMs; ) {
    if (measuredFrom < 0 && elapsed > WARM_MS) {
      measuredFrom = elapsed;
      spent.clear();
      [passes, catalogTokens, changedBefore] = [0, 0, changed];
    }
    sim.clock.advance(start + elapsed - sim.clock.nowMs());
    for (; changed < dueBy(elapsed); changed++) {
      const id = liveIds[(changed * 7919) % liveIds.length]!;
      sim.store.deals.update(id, { title: `Changed ${changed}` });
      if (changed % 2 === 0) sim.store.v1.notes.create(1, { content: `Note ${changed}`, deal_id: id });
      if (changed % 4 === 0) sim.store.activities.create({ subject: `Call ${changed}`, deal_id: id } as never);
      if (changed % 10 === 0) sim.store.v1.mail.addMessage({ deal_id: id, user_id: 1, subject: 'Re', snippet: 're', from: party, to: [], cc: [], sent: false, read: false, has_attachments: false, deleted: false });
      if (changed % 20 === 0) sim.store.dealPeople.addParticipant(id, 1 + (changed % 50), 1);
    }
    const before = counted();
    if (elapsed >= nextCatalogAt) {
      catalogTokens += catalogs * 10;
      pacer.spent(catalogs * 10, elapsed);
      nextCatalogAt += CATALOG_EVERY_MS;
    }
    await pass();
    passes++;
    pacer.spent(counted() - before, elapsed);
    pacer.roundEnded(elapsed);
    const wait = pacer.intervalMs(elapsed);
    if (measuredFrom >= 0) intervals.push(wait);
    elapsed += wait;
  }
  const scale = 24 / hours;
  const rows = [...spent].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const total = (rows.reduce((n, [, v]) => n + v, 0) + catalogTokens) * scale;
  const meanS = dayMs / passes / 1000;
  changed -= changedBefore;
  console.log(`steady state: ${deals} deals, ${changed} deal changes in ${hours} h, ${passes} passes (mean interval ${meanS.toFixed(1)} s; share ${SHARE} of ${DAILY_BUDGET}), ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  console.log('| table | tokens/day |\n|---|---|');
  for (const [t, v] of rows) console.log(`| ${t} | ${Math.round(v * scale)} |`);
  console.log(`| custom-field catalogs (computed: ${catalogs} × 10 tokens, hourly) | ${Math.round(catalogTokens * scale)} |`);
  console.log(`| **total** | **${Math.round(total)}** (goal ≤ 60,000: ratio ${(total / 60_000).toFixed(2)}) |`);
  console.log(`| passes / mean interval | ${passes} / ${meanS.toFixed(1)} s |`);
  const sorted = [...intervals].sort((a, b) => a - b);
  const q = (f: number) => (sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]! / 1000).toFixed(0);
  console.log(`intervals (s): min ${q(0)}, median ${q(0.5)}, p90 ${q(0.9)}, max ${q(1)}`);
} finally {
  await client.close();
  await sim.close();
}
