import { describe, expect, it } from 'vitest';
import { keepHeapTight } from '../../src/observe/heap.ts';

// The effect on memory is measured by bench/producer-memory.ts (a synthetic churn does not reach V8's first
// old-generation limit); here: an operator's own setting is never overridden, in either spelling or place.
describe('keepHeapTight', () => {
  it('sets the growing factor unless the node flags or NODE_OPTIONS already do', () => {
    expect(keepHeapTight([], '')).toBe(true);
    expect(keepHeapTight(['--max-old-space-size=512'], '--enable-source-maps')).toBe(true);
    expect(keepHeapTight(['--heap-growing-percent=80'], '')).toBe(false);
    expect(keepHeapTight([], '--enable-source-maps --heap_growing_percent=120')).toBe(false);
    expect(keepHeapTight(['--heap-growing-percent', '80'], '')).toBe(false);
  });
});
