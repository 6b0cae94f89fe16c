/**
 * Fault injection, as an interceptor on the operation seam (after the rate limiter, so a faulted
 * call has been charged like the real API would have). Every in-scope request bumps the rule's
 * `matched` count (what nth/every refer to); a rule whose conditions all hold fires. Delays add up and
 * then the first other fired rule decides the answer; with none, the route answers normally.
 */
import type { Request, Response } from 'express';
import type { SimClock } from '../clock.ts';
import { Rng } from '../prng.ts';
import { errorBody } from './envelope.ts';
import { sendCloudflare403 } from './faults-pages.ts';
import { parseFaultRuleList, type FaultKind, type FaultRule, type FaultRuleInput } from './faults-rules.ts';
import { operationOf, type SimInterceptor } from './middleware.ts';

export interface FaultRuleState {
  rule: FaultRuleInput;
  /** In-scope requests seen since the rule was added. */
  matched: number;
  /** Times it fired. */
  fired: number;
}

interface LiveRule {
  rule: FaultRule;
  rng: Rng;
  matched: number;
  fired: number;
}

const STATUS_MESSAGES: Record<number, string> = {
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

export class FaultInjector {
  private rules: LiveRule[] = [];
  private lastId = 0;
  /** Faults applied, by kind, since start (or the last clear()). */
  readonly injected: Record<FaultKind, number> = { status: 0, delay: 0, drop: 0, truncate: 0, cloudflare403: 0, omitFields: 0 };

  constructor(
    private readonly clock: SimClock,
    /** Seeds rules without their own `seed`. */
    private readonly seed = 1,
    rules: readonly FaultRuleInput[] = [],
  ) {
    if (rules.length > 0) this.add([...rules]);
  }

  /** Validate and append rules (all or none); returns their ids. Throws FaultRuleError. */
  add(input: FaultRuleInput | readonly FaultRuleInput[]): string[] {
    const ids = new Set(this.rules.map((l) => l.rule.id));
    const nextId = (): string => {
      let id: string;
      do id = `fault-${++this.lastId}`;
      while (ids.has(id));
      return id;
    };
    const parsed = parseFaultRuleList(input, nextId);
    for (const rule of parsed) {
      if (ids.has(rule.id)) throw new RangeError(`a fault rule with id "${rule.id}" already exists`);
      ids.add(rule.id);
    }
    for (const rule of parsed) {
      // One PRNG per rule: adding or removing another rule never changes this one's sequence.
      this.rules.push({ rule, rng: new Rng((rule.seed ?? this.seed) >>> 0), matched: 0, fired: 0 });
    }
    return parsed.map((r) => r.id);
  }

  /** Remove one rule (true if it existed), or all rules and the injected counts. */
  clear(id?: string): boolean {
    if (id === undefined) {
      this.rules = [];
      for (const k of Object.keys(this.injected) as FaultKind[]) this.injected[k] = 0;
      return true;
    }
    const before = this.rules.length;
    this.rules = this.rules.filter((l) => l.rule.id !== id);
    return this.rules.length < before;
  }

  list(): FaultRuleState[] {
    return this.rules.map((l) => ({ rule: l.rule.input, matched: l.matched, fired: l.fired }));
  }

  stats(): { rules: FaultRuleState[]; injected: Record<FaultKind, number> } {
    return { rules: this.list(), injected: { ...this.injected } };
  }

  interceptor(): SimInterceptor {
    return (req, res, next) => {
      if (this.rules.length === 0) return next();
      const fired = this.select(req, res);
      if (fired.length === 0) return next();
      const delayMs = fired.reduce((s, r) => s + (r.kind === 'delay' ? r.delayMs : 0), 0);
      const terminal = fired.find((r) => r.kind !== 'delay');
      const apply = (): void => {
        if (terminal) this.apply(terminal, req, res, next);
        else next();
      };
      if (delayMs > 0) {
        this.injected.delay += 1;
        setTimeout(apply, delayMs);
      } else {
        apply();
      }
    };
  }

  /** The rules that fire for this request, in order; updates their counters. */
  private select(req: Request, res: Response): FaultRule[] {
    const op = operationOf(res);
    const path = req.originalUrl.split('?')[0] ?? '';
    const now = this.clock.nowMs();
    const fired: FaultRule[] = [];
    for (const live of this.rules) {
      const r = live.rule;
      if (r.operations && (op === undefined || !r.operations.has(op))) continue;
      if (r.path && !r.path.test(path)) continue;
      if (r.method && r.method !== req.method) continue;
      live.matched += 1;
      if (r.times !== undefined && live.fired >= r.times) continue;
      if (r.fromMs !== undefined && now < r.fromMs) continue;
      if (r.untilMs !== undefined && now >= r.untilMs) continue;
      if (r.nth && !r.nth.has(live.matched)) continue;
      if (r.every !== undefined && live.matched % r.every !== 0) continue;
      // Drawn last, and only for otherwise eligible requests, so schedules stay predictable.
      if (r.probability !== undefined && !(live.rng.float() < r.probability)) continue;
      live.fired += 1;
      fired.push(r);
    }
    return fired;
  }

  private apply(rule: FaultRule, req: Request, res: Response, next: () => void): void {
    this.injected[rule.kind] += 1;
    switch (rule.kind) {
      case 'status':
        res.status(rule.status).json(errorBody(STATUS_MESSAGES[rule.status] ?? `Injected fault ${rule.status}`));
        return;
      case 'cloudflare403':
        sendCloudflare403(res);
        return;
      case 'drop':
        if (!rule.after) {
          req.socket.destroy();
          return;
        }
        // Let the handler run (its write happens), then cut the socket instead of answering.
        res.end = ((..._args: unknown[]) => {
          req.socket.destroy();
          return res;
        }) as Response['end'];
        next();
        return;
      case 'truncate':
        truncateBody(res);
        next();
        return;
      case 'omitFields':
        omitFields(res, rule.fields);
        next();
        return;
      case 'delay':
        next();
    }
  }
}

/** The route's JSON answer goes out with `fields` removed from each row of `data` (a list or one object). */
function omitFields(res: Response, fields: readonly string[]): void {
  const json = res.json.bind(res);
  // Copies, never the objects the route passed: they may be the store's own.
  const without = (row: unknown) => (row && typeof row === 'object' && !Array.isArray(row) ? Object.fromEntries(Object.entries(row).filter(([k]) => !fields.includes(k))) : row);
  res.json = ((body: unknown) => {
    if (!body || typeof body !== 'object' || !('data' in body)) return json(body);
    const data = (body as { data: unknown }).data;
    return json({ ...body, data: Array.isArray(data) ? data.map(without) : without(data) });
  }) as Response['json'];
}

/** Whatever the route sends, only the first half of its bytes go out (Content-Length matches). */
function truncateBody(res: Response): void {
  const end = res.end.bind(res) as (chunk?: unknown, encoding?: unknown, cb?: unknown) => Response;
  res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    if (chunk === undefined || typeof chunk === 'function') return end(chunk, encoding, cb);
    const enc: BufferEncoding = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), enc);
    const half = buf.subarray(0, Math.floor(buf.length / 2));
    if (!res.headersSent) res.setHeader('content-length', String(half.length));
    return end(half, typeof encoding === 'function' ? encoding : cb);
  }) as Response['end'];
}
