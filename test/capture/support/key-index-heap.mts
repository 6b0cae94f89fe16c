// Run with --expose-gc: prints the heap (JS objects + array buffers) a KeyIndex of N integer keys with
// times and hashes holds, in bytes, measured between two full collections.
import { KeyIndex } from '../../../src/capture/key-index.ts';
import { tableByName } from '../../../src/catalog/index.ts';

const n = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const index = new KeyIndex(tableByName('deal'));
gc();
const before = process.memoryUsage();
for (let id = 1; id <= n; id++) index.load({ id }, true, (1_700_000_000 + id) * 1000, `hash${String(id).padStart(8, '0')}`);
gc();
const after = process.memoryUsage();
if (index.size !== n || index.hashOf(String(n)) !== `hash${String(n).padStart(8, '0')}`) throw new Error('index lost keys');
process.stdout.write(String(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers));
