/**
 * The instants of the requests inside a rolling window, oldest first. A deque on an array with a head
 * index: pushes and evictions are O(1) amortised even when an unenforced window holds thousands.
 */
export class TimeWindow {
  private times: number[] = [];
  private head = 0;

  get size(): number {
    return this.times.length - this.head;
  }

  oldest(): number | undefined {
    return this.size > 0 ? this.times[this.head] : undefined;
  }

  push(ms: number): void {
    this.times.push(ms);
  }

  /** Keep instants in (now − windowMs, now]; a clock moved backwards empties the window. */
  evict(now: number, windowMs: number): void {
    const last = this.times[this.times.length - 1];
    if (last !== undefined && last > now) {
      this.times = [];
      this.head = 0;
      return;
    }
    while (this.head < this.times.length && this.times[this.head]! <= now - windowMs) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
