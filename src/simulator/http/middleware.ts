/**
 * The per-operation middleware seam. Every API route starts with `operation(name)`, which names the
 * call (the spec's operationId, the key for token costs) and then runs the simulator's interceptor
 * chain. Rate limiting and fault injection are interceptors: they may answer (429, 5xx, cut the
 * socket, delay) or call next(). The chain is a mutable array, so tests can insert faults at runtime.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** An interceptor sees `res.locals.operation` (e.g. "getDeals") and decides whether to pass. */
export type SimInterceptor = RequestHandler;

export function operationOf(res: Response): string | undefined {
  const op: unknown = res.locals['operation'];
  return typeof op === 'string' ? op : undefined;
}

export function operationSeam(interceptors: readonly SimInterceptor[]) {
  return (name: string): RequestHandler =>
    (req, res, next) => {
      res.locals['operation'] = name;
      const chain = [...interceptors];
      let i = 0;
      const step: NextFunction = (err?: unknown) => {
        if (err !== undefined) return next(err);
        const h = chain[i++];
        if (!h) return next();
        try {
          const r: unknown = h(req, res, step);
          if (r instanceof Promise) r.catch(next);
        } catch (e) {
          next(e);
        }
      };
      step();
    };
}

/** Counts API requests (all, and per operation) as they finish, including 401s and 404s. */
export class RequestCounter {
  total = 0;
  readonly byOperation = new Map<string, number>();

  middleware(): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
      res.on('finish', () => {
        this.total += 1;
        const op = operationOf(res) ?? `unmatched:${res.statusCode}`;
        this.byOperation.set(op, (this.byOperation.get(op) ?? 0) + 1);
      });
      next();
    };
  }

  count(operation?: string): number {
    return operation === undefined ? this.total : (this.byOperation.get(operation) ?? 0);
  }

  snapshot(): { total: number; byOperation: Record<string, number> } {
    return { total: this.total, byOperation: Object.fromEntries(this.byOperation) };
  }

  reset(): void {
    this.total = 0;
    this.byOperation.clear();
  }
}
