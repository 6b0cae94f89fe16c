/**
 * A typed array in pages of 65,536 elements, for the key index's per-slot arrays. Growing adds a page
 * instead of copying the whole array into one twice its size: a million keys never hold the old and the
 * new array at once (about 40 MB at the doubling from 512k to 1M slots, the memory peak of a large first
 * sync), and spare capacity is at most one page. Pages may be views into other memory (a snapshot file's
 * bytes): the last one, if short, is copied into a full page the first time it must grow.
 */
export const PAGE_BITS = 16;
export const PAGE = 1 << PAGE_BITS;
const MASK = PAGE - 1;

export type Typed = Uint8Array | Uint32Array | Int32Array | Float64Array;

export class Paged<T extends Typed> {
  private pages: T[] = [];

  /** `make(n)`: a new page of n elements with the array's initial value. */
  constructor(private readonly make: (n: number) => T) {}

  /** An array over `chunks` concatenated (taken as views where they fall on page boundaries, else copied). */
  static of<T extends Typed>(make: (n: number) => T, chunks: readonly T[]): Paged<T> {
    const p = new Paged(make);
    let page: T | undefined;
    let filled = 0;
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length; ) {
        if (page === undefined && chunk.length - at >= PAGE) {
          p.pages.push(chunk.subarray(at, at + PAGE) as T);
          at += PAGE;
          continue;
        }
        if (page === undefined && chunk === chunks.at(-1)) {
          p.pages.push(chunk.subarray(at) as T); // a short last page, a view as well
          break;
        }
        page ??= make(PAGE);
        const take = Math.min(PAGE - filled, chunk.length - at);
        page.set(chunk.subarray(at, at + take) as never, filled);
        filled += take;
        at += take;
        if (filled === PAGE) {
          p.pages.push(page);
          page = undefined;
          filled = 0;
        }
      }
    }
    if (page !== undefined) p.pages.push(page);
    return p;
  }

  get(i: number): number {
    return this.pages[i >>> PAGE_BITS]![i & MASK]!;
  }

  set(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS]![i & MASK] = v;
  }

  /** Makes element i exist (adding pages, or filling out a short last page). */
  ensure(i: number): void {
    const p = i >>> PAGE_BITS;
    while (this.pages.length <= p) this.pages.push(this.make(PAGE));
    const page = this.pages[p]!;
    if (page.length < PAGE) {
      const full = this.make(PAGE);
      full.set(page as never);
      this.pages[p] = full;
    }
  }

  /** Views of elements [0, n), in order (nothing copied). */
  views(n: number): T[] {
    const out: T[] = [];
    for (let p = 0; p * PAGE < n; p++) out.push(this.pages[p]!.subarray(0, Math.min(PAGE, n - p * PAGE)) as T);
    return out;
  }
}

/**
 * Numbers that are mostly 0, as pages of Uint16 made only where one is not: the key index's milliseconds
 * past a time's whole second (none in a sync of Pipedrive's times, which are whole seconds).
 */
export class SparsePaged16 {
  private readonly pages: Array<Uint16Array | undefined> = [];

  get(i: number): number {
    const page = this.pages[i >>> PAGE_BITS];
    return page === undefined ? 0 : page[i & MASK]!;
  }

  set(i: number, v: number): void {
    let page = this.pages[i >>> PAGE_BITS];
    if (page === undefined) {
      if (v === 0) return;
      page = this.pages[i >>> PAGE_BITS] = new Uint16Array(PAGE);
    }
    page[i & MASK] = v;
  }

  /** [index, value] of each element below n that is not 0. */
  nonZero(n: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.pages.forEach((page, p) => {
      if (page !== undefined) for (let j = 0; j < PAGE && p * PAGE + j < n; j++) if (page[j] !== 0) out.push([p * PAGE + j, page[j]!]);
    });
    return out;
  }
}
