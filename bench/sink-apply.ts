/**
 * Benchmark: how fast the destinations apply batches of deal rows (the sink's database side), DuckDB file
 * and, when DATABASE_URL is set, PostgreSQL. Not a test: run `node --import tsx bench/sink-apply.ts`.
 * Rows: 90% updates of existing keys, 10% new, as steady-state CDC traffic looks.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deal } from '../src/catalog/tables/deal.ts';
import { keySchema, valueSchema } from '../src/publish/avro-schema.ts';
import { tableFromSchemas } from '../src/sink/avro-table.ts';
import { openDuckDb } from '../src/sink/destinations/duckdb.ts';
import { openPostgres } from '../src/sink/destinations/postgres.ts';
import type { Destination } from '../src/sink/model.ts';
import { reduceBatch, type DecodedRecord } from '../src/sink/reduce.ts';

const table = tableFromSchemas('deal', keySchema('p', deal), valueSchema('p', deal));
const batchSize = Number(process.env.BATCH ?? 500);
const batches = Number(process.env.BATCHES ?? 40);

function record(id: number, n: number): DecodedRecord {
  const value: Record<string, unknown> = { __op: 'u', __deleted: false, __source_ts_ms: 1_700_000_000_000 + n, __synced_ms: 1_700_000_000_000 };
  for (const c of deal.columns) {
    value[c.name] = c.name === 'id' ? id : c.type === 'long' ? n : c.type === 'double' ? n * 1.5 : c.type === 'timestamp' ? 1_700_000_000_000 + n * 1000 : c.type === 'boolean' ? n % 2 === 0 : c.type === 'date' ? 20_000 : `text ${n}`;
  }
  return { table, offset: BigInt(n), key: { id }, value };
}

async function run(name: string, dest: Destination) {
  await dest.ensureTable(table);
  let nextId = 1;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const recs: DecodedRecord[] = [];
    for (let i = 0; i < batchSize; i++) {
      const id = b > 0 && i % 10 !== 0 ? 1 + Math.floor(Math.random() * (nextId - 1)) : nextId++;
      recs.push(record(id, b * batchSize + i));
    }
    await dest.apply(reduceBatch(recs, new Date()), { topic: 't', partition: 0, expected: b === 0 ? null : BigInt(b * batchSize), next: BigInt((b + 1) * batchSize) });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(10)} batch ${batchSize}: ${(batches * batchSize / s).toFixed(0)} rows/s (${batches} batches in ${s.toFixed(2)} s)`);
  await dest.close();
}

await run('duckdb', await openDuckDb(join(mkdtempSync(join(tmpdir(), 'bench-')), 'b.duckdb')));
if (process.env.DATABASE_URL) await run('postgres', await openPostgres(process.env.DATABASE_URL, `bench_${Date.now()}`));
