import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/catalog/index.ts';
import type { ColumnType } from '../../src/catalog/types.ts';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { FieldSightings } from './support/custom-columns.ts';
import { expectedTables, keyOf, type CanonicalRow, type ExpectedTable } from './support/expected.ts';
import { pipelineEnv, readTopic, uniqueName } from './support/harness.ts';
import { expectSinkTables, readDuck } from './support/sink-tables.ts';
import { workload } from './support/workload.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The rules under test, as an operator writes them (SYNC_RULES is the config file's `rules` section as JSON). */
const RULES = {
  tables: {
    deal: { block: ['title'], hash: ['person_id'], filter: { column: 'status', in: ['open', 'won'] } },
    person: { hash: ['id', 'name'] },
    person_email: { block: ['value'] },
  },
};

/**
 * The differential workload under sync rules: blocked columns (deal.title, person_email.value), hashed
 * columns (person.id and name, deal.person_id; person_email/person_phone.person_id follow person.id) and a
 * row filter (deals open or won). The sink must equal the local Pipedrive with those rules applied by this
 * test's own code — hashes computed here with node:crypto as the docs define them (hex HMAC-SHA-256 of the
 * value's text, keyed with the salt; a hashed column `c` published as `c_sha256`) — and no raw byte of any
 * topic (keys, values, headers) may hold a blocked value or the clear text of a hashed one.
 */
describe('sync rules', () => {
  it('the sink equals the source with columns blocked and hashed and deals filtered; nothing blocked or clear reaches Kafka', { timeout: 420_000 }, async () => {
    const salt = randomBytes(24).toString('hex');
    const hash = (text: string) => createHmac('sha256', salt).update(text).digest('hex');
    const sim = await startSimulator({ seed: 4, deals: 30, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    const prefix = uniqueName('rules');
    const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-rules-')), 'sink.duckdb');
    const env = pipelineEnv(sim, prefix, { TOPIC_PARTITIONS: '2', HISTORY_REBUILD: 'all', DUCKDB_PATH: duckPath, SYNC_RULES: JSON.stringify(RULES), HASH_SALT: salt });
    const sightings = new FieldSightings();
    const logged: string[] = [];
    const produce = async () => {
      const log = (e: string, f?: Record<string, unknown>) => void logged.push(`${e} ${JSON.stringify(f ?? {})}`);
      const run = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log, untilCaughtUp: true });
      const settled = await Promise.race([run.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 90_000))]);
      if (!settled) {
        await run.stop();
        throw new Error('the producer did not catch up in 90 s');
      }
      sightings.observe(sim.store.fields);
    };
    const sinkOnce = async () => {
      const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: 'duckdb' }), { metrics: createMetrics('sink'), log: silentLogger });
      await sink.caughtUp(120_000);
      await sink.stop();
      return readDuck(duckPath);
    };
    try {
      await produce();

      // A deal that leaves the filter (open → lost) is deleted downstream.
      const open = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived && r.data.status === 'open')!;
      expect(open, 'an open deal in the seed').toBeDefined();
      const dealRow = async () => (await sinkOnce()).get('deal')!.rows.find((r) => Number(r.id) === open.id);
      expect((await dealRow())?._deleted, `deal ${open.id} synced while open`).toBe(false);
      await patch(sim, `/api/v2/deals/${open.id}`, { status: 'lost' });
      sim.clock.advance(1000);
      await produce();
      const left = await dealRow();
      expect(left?._deleted, `deal ${open.id} deleted downstream once lost`).toBe(true);
      expect(left?._op).toBe('d');

      const work = workload(sim, 4);
      for (let step = 1; step <= 30; step++) {
        await work.step();
        sim.clock.advance(1000 + (step % 3) * 700);
        if (step === 10) sim.clock.advance(25 * HOUR); // daily re-imports and id scans (of hashed person keys too)
        if (step === 20) sim.clock.advance(31 * DAY);
        if (step % 8 === 0) await produce();
      }
      sim.clock.advance(25 * HOUR);
      await produce();
      const db = await sinkOnce();

      // The oracle with the rules applied by this test.
      const plain = await expectedTables(sim, sightings);
      const forbidden = forbiddenTexts(sim, plain);
      const expected = new Map([...plain].map(([name, t]) => [name, ruled(t, hash)]));
      const compared = expectSinkTables(db, expected);
      expect(compared).toBeGreaterThan(1000);
      expect(expected.get('deal')!.rows.size, 'deals open or won').toBeGreaterThan(5);
      expect(plain.get('deal')!.rows.size, 'the filter leaves deals out').toBeGreaterThan(expected.get('deal')!.rows.size);
      for (const id of work.deleted.get('deal') ?? []) {
        const stored = db.get('deal')!.rows.find((r) => Number(r.id) === Number(id));
        if (stored) expect(stored._deleted, `deleted deal ${id}`).toBe(true);
      }

      // One person id hashes the same in person and in deal.person_id: the hashed keys join.
      const personHashes = new Set(db.get('person')!.rows.filter((r) => r._deleted !== true).map((r) => String(r.id_sha256)));
      const dealsWithPerson = db.get('deal')!.rows.filter((r) => r._deleted !== true && r.person_id_sha256 !== null);
      expect(dealsWithPerson.length, 'live deals with a person').toBeGreaterThan(0);
      for (const d of dealsWithPerson) {
        const personId = sim.store.deals.table.get(Number(d.id))!.data.person_id;
        expect(d.person_id_sha256, `deal ${String(d.id)}.person_id_sha256`).toBe(hash(String(personId)));
        const personLive = sim.store.persons.all().some((p) => p.id === personId && p.deletedAtMs === null);
        if (personLive) expect(personHashes.has(String(d.person_id_sha256)), `deal ${String(d.id)} joins its person by hash`).toBe(true);
      }

      // No raw byte of any topic — keys, values, headers — holds a blocked value or a hashed value in clear.
      expect(forbidden.length, 'blocked and hashed texts to look for').toBeGreaterThan(50);
      const tables = [...catalog.values()].map((t) => t.name);
      let records = 0;
      for (const table of tables) {
        for (const r of await readTopic(`${prefix}.${table}`, { decode: false })) {
          const bytes = Buffer.concat([(r.key as Buffer | null) ?? Buffer.alloc(0), (r.value as Buffer | null) ?? Buffer.alloc(0), ...Object.values(r.headers ?? {})]);
          for (const text of forbidden) expect(bytes.includes(text), `${table} record at ${r.partition}/${r.offset} holds "${text}"`).toBe(false);
          records++;
        }
      }
      expect(records).toBeGreaterThan(500);
      // The decoded person and deal records hold no clear id field, only the hashes.
      for (const r of await readTopic(`${prefix}.person`)) {
        expect(Object.keys(r.key as object)).toEqual(['id_sha256']);
        if (r.value) expect(Object.keys(r.value as object)).not.toContain('name');
      }
      for (const r of await readTopic(`${prefix}.deal`)) if (r.value) expect(Object.keys(r.value as object)).not.toContain('person_id');
      // The salt is in no log line.
      expect(logged.filter((l) => l.includes(salt))).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

async function patch(sim: Simulator, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${sim.baseUrl}${path}`, { method: 'PATCH', headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`PATCH ${path}: ${res.status}`);
}

/**
 * An expected table under RULES: rows outside the filter left out, blocked columns dropped, hashed ones
 * replaced by `<column>_sha256` (text: numbers in decimal, strings as they are), keys with them.
 */
function ruled(t: ExpectedTable, hash: (text: string) => string): ExpectedTable {
  const own = (RULES.tables as Record<string, { block?: string[]; hash?: string[]; filter?: { column: string; in: string[] } }>)[t.name] ?? {};
  // The child tables' person_id holds person.id, which is hashed.
  const hashed = new Set([...(own.hash ?? []), ...(['person_email', 'person_phone'].includes(t.name) ? ['person_id'] : [])]);
  const blocked = new Set(own.block ?? []);
  if (hashed.size === 0 && blocked.size === 0 && !own.filter) return t;
  const name = (c: string) => (hashed.has(c) ? `${c}_sha256` : c);
  const columns = t.columns.filter((c) => !blocked.has(c.name)).map((c) => ({ name: name(c.name), type: (hashed.has(c.name) ? 'string' : c.type) as ColumnType }));
  const out: ExpectedTable = { name: t.name, primaryKey: t.primaryKey.map(name), columns, rows: new Map() };
  for (const row of t.rows.values()) {
    if (own.filter && !own.filter.in.includes(String(row[own.filter.column]))) continue;
    const r: CanonicalRow = {};
    for (const [c, v] of Object.entries(row)) {
      if (blocked.has(c)) continue;
      r[name(c)] = hashed.has(c) && v !== null ? hash(String(v)) : v;
    }
    out.rows.set(keyOf(out, r), r);
  }
  return out;
}

/**
 * The texts no record may hold: every deal title, person name and person email the local Pipedrive ever
 * had (its change journal, and the presented emails of the oracle), long enough to be unambiguous.
 */
function forbiddenTexts(sim: Simulator, plain: ReadonlyMap<string, ExpectedTable>): string[] {
  const out = new Set<string>();
  const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(strings) : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
  for (const [entity, fields] of [['deal', ['title']], ['person', ['name', 'emails']]] as const) {
    const rows: ReadonlyArray<{ id: number; data: unknown }> = entity === 'deal' ? sim.store.deals.table.all() : sim.store.persons.all();
    for (const row of rows) {
      for (const e of sim.store.journal.of(entity, row.id)) {
        for (const c of e.changes) if ((fields as readonly string[]).includes(c.field)) for (const s of [...strings(c.oldValue), ...strings(c.newValue)]) out.add(s);
      }
      for (const f of fields) for (const s of strings((row.data as Record<string, unknown>)[f])) out.add(s);
    }
  }
  for (const row of plain.get('person_email')!.rows.values()) if (typeof row.value === 'string') out.add(row.value);
  // Labels ("work", "home") and short words are no evidence; titles, names and addresses are.
  return [...out].filter((s) => s.length >= 8 && !['Person', 'Deal'].includes(s));
}
