/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): where the time went, by pipeline stage and by function.
 * Each sample is charged to the first frame, from the leaf up, that belongs to a stage (so kafkajs' own
 * buffer writes count as kafkajs, a row's JSON.stringify inside `contentHash` as the content hash).
 *   ONLY_PRODUCT=1 node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/producer-throughput.ts 50000
 *   node --import tsx bench/cpuprofile-summary.ts /tmp/prof/CPU.….cpuprofile [from-s] [to-s] [top]
 * `from`/`to` (seconds into the profile) cut out start-up and the wait for the local Pipedrive.
 */
import { readFileSync } from 'node:fs';

interface Frame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface Profile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: Frame; readonly children?: readonly number[] }>;
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const STAGES: ReadonlyArray<readonly [string, (f: Frame) => boolean]> = [
  ['idle (waiting on Kafka or the API)', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['content hash (JSON.stringify + SHA-1)', (f) => f.functionName === 'contentHash'],
  ['parseRow (API object → typed row)', (f) => f.url.includes('/src/pipedrive/row.ts')],
  ['Avro encoding, records (publish/encoder.ts, publisher.ts)', (f) => /\/src\/publish\/(encoder|publisher)\.ts/.test(f.url)],
  ['kafkajs (produce requests, network, transactions)', (f) => f.url.includes('/node_modules/kafkajs/') || f.url.includes('/src/publish/kafkajs-kafka.ts')],
  ['HTTP and JSON.parse of pages', (f) => f.url.includes('/node_modules/undici/') || /\/src\/pipedrive\/(client|transport|lists|governor)\.ts/.test(f.url)],
  ['capture (advance, events, history, rules, key index)', (f) => f.url.includes('/src/capture/')],
  ['producer loop, metrics', (f) => f.url.includes('/src/producer.ts') || f.url.includes('/node_modules/prom-client/')],
  ['module loading', (f) => f.url.startsWith('node:internal/modules') || f.url.includes('/node_modules/tsx/')],
];

const [file, fromArg, toArg, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [from-s] [to-s] [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = Number(fromArg ?? 0) * 1e6;
const to = Number(toArg ?? Infinity) * 1e6;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (f: Frame) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${f.lineNumber + 1}`;

const stages = new Map<string, number>();
const self = new Map<string, number>();
let total = 0;
let t = profile.startTime;
profile.samples.forEach((id, i) => {
  const d = profile.timeDeltas[i] ?? 0;
  t += d;
  if (t - profile.startTime < from || t - profile.startTime > to) return;
  total += d;
  const leaf = byId.get(id)!.callFrame;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + d);
  let stage = 'other (Node internals: buffers, streams, timers)';
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const hit = STAGES.find(([, test]) => test(byId.get(cur!)!.callFrame));
    if (hit) {
      stage = hit[0];
      break;
    }
  }
  stages.set(stage, (stages.get(stage) ?? 0) + d);
});
const idle = stages.get(STAGES[0]![0]) ?? 0;
const pct = (v: number, of: number) => `${((100 * v) / of).toFixed(1).padStart(5)} %`;
console.log(`window ${(total / 1e6).toFixed(2)} s, busy ${((total - idle) / 1e6).toFixed(2)} s`);
console.log('stage | of wall | of busy');
for (const [k, v] of [...stages].sort((a, b) => b[1] - a[1])) console.log(`${k} | ${pct(v, total)} | ${v === idle ? '' : pct(v, total - idle)}`);
console.log('\nself time, top functions:');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) console.log(`${pct(v, total)} ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
