/**
 * The simulator's one clock. Every timestamp the simulator writes or compares comes from here, so
 * tests can cross seconds, days and the 30-day delete window deterministically.
 *
 * Default: real time plus an offset. `freeze()` pins it; `advance`/`set` work frozen or running.
 */
export interface SimClockOptions {
  /** Start at this instant instead of real time. */
  start?: Date;
  /** Start frozen (time stands still until advanced). */
  frozen?: boolean;
}

export class SimClock {
  private offsetMs = 0;
  private frozenAtMs: number | null = null;

  constructor(opts: SimClockOptions = {}) {
    // Freeze first: set-then-freeze would pin the clock at start + however long the two calls took.
    if (opts.frozen) this.freeze();
    if (opts.start) this.set(opts.start);
  }

  nowMs(): number {
    return this.frozenAtMs ?? Date.now() + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Current time truncated to whole seconds (Pipedrive has no sub-second precision). */
  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  get frozen(): boolean {
    return this.frozenAtMs !== null;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`advance: not a finite number: ${ms}`);
    if (this.frozenAtMs !== null) this.frozenAtMs += ms;
    else this.offsetMs += ms;
  }

  set(date: Date): void {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new RangeError('set: invalid date');
    if (this.frozenAtMs !== null) this.frozenAtMs = ms;
    else this.offsetMs = ms - Date.now();
  }

  freeze(): void {
    if (this.frozenAtMs === null) this.frozenAtMs = this.nowMs();
  }

  unfreeze(): void {
    if (this.frozenAtMs === null) return;
    this.offsetMs = this.frozenAtMs - Date.now();
    this.frozenAtMs = null;
  }
}
