import { setFlagsFromString } from 'node:v8';

/** The producer's heap may grow to this much above what survived the last full collection (V8's default: up to 300 %). */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Keeps the producer's heap close to what it holds. Its live heap is small and flat — the key indexes are
 * typed arrays outside it, a batch is at most 2,000 records — but it allocates fast (rows, Avro records,
 * Kafka buffers), and on a machine with gigabytes free V8 lets the old generation grow to several times
 * the live size between full collections: a 200k-deal sync peaked at ~255 MiB with 35 MB live. A fixed
 * factor of 2 keeps it at ~190 MiB for ~7 % more CPU (1.5: ~176 MiB for ~18 %; bench/producer-heap.ts,
 * bench/RESULTS.md). V8 reads the flag at every full collection, so setting it once at start is enough.
 * An operator's own `--heap-growing-percent` (node flags or NODE_OPTIONS) is left as it is.
 */
export function keepHeapTight(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  if (!given) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return !given;
}
