// The demo's progress display: one line per phase, rewritten in place on a terminal; on anything else
// (CI, a pipe, a file) the same line printed plainly now and then, so logs stay readable.

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export class ProgressLine {
  private lastPlain = -Infinity;
  private lastText = '';

  constructor(
    private readonly out: ProgressOutput,
    /** How often a non-terminal gets a line. */
    private readonly plainEveryMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Shows the phase's current state: in place on a terminal, at most every plainEveryMs otherwise. */
  update(text: string): void {
    this.lastText = text;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${this.fit(text)}`);
    } else if (this.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = this.now();
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the phase with its final state on a line of its own. */
  done(text: string = this.lastText): void {
    this.out.write(this.out.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  /** Longer than the terminal is wide, a line wraps and `\r` would only rewrite its last part. */
  private fit(text: string): string {
    const width = this.out.columns;
    return width && text.length >= width ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
  }
}

/** Per-second rate of a growing count over the last `windowMs`. */
export class Rate {
  private readonly samples: Array<{ at: number; value: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  add(at: number, value: number): void {
    this.samples.push({ at, value });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
  }

  /** Undefined until two samples at least a second apart exist. */
  perSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 1000) return undefined;
    return ((last.value - first.value) * 1000) / (last.at - first.at);
  }
}

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function duration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Time left for `remaining` at `perSecond`, or '—' when nothing moved lately (no basis for a figure). */
export function eta(remaining: number, perSecond: number | undefined): string {
  if (remaining <= 0) return '0 s';
  if (!perSecond || perSecond <= 0) return '—';
  return duration(remaining / perSecond);
}
