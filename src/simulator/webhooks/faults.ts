/**
 * Fault switches for webhook deliveries, in the style of http/faults-rules.ts: what to do to a delivery
 * (kind), which deliveries (entity / action / webhook id) and when (probability from a seeded PRNG, nth,
 * every n, at most `times`). A rule applies to a delivery's first attempt; retries are Pipedrive's own.
 *   drop:      never sent, no retry (a lost webhook)
 *   delay:     sent `delayMs` (real time) late
 *   duplicate: sent twice (same body, same meta.id)
 *   reorder:   held back and sent after the next delivery to the same webhook (or after `holdMs`)
 * The same JSON works in `startSimulator({ webhookFaults })`, `sim.webhooks.faults.add()`,
 * `POST /_sim/webhooks/faults` and `pipedrive-cdc sim --webhook-faults '<json>'`.
 */
import { Rng } from '../prng.ts';

export const DELIVERY_FAULT_KINDS = ['drop', 'delay', 'duplicate', 'reorder'] as const;
export type DeliveryFaultKind = (typeof DELIVERY_FAULT_KINDS)[number];

export interface DeliveryFaultInput {
  id?: string;
  kind: DeliveryFaultKind;
  /** delay: how long (real ms). */
  delayMs?: number;
  /** reorder: the longest a held delivery waits for a next one (real ms; default 1000). */
  holdMs?: number;
  entity?: string;
  action?: 'create' | 'change' | 'delete';
  webhookId?: number;
  probability?: number;
  /** Default: the simulator's seed. */
  seed?: number;
  nth?: number | number[];
  every?: number;
  times?: number;
}

export interface DeliveryTarget {
  entity: string;
  action: string;
  webhookId: number;
}

interface LiveRule {
  input: DeliveryFaultInput & { id: string };
  nth: ReadonlySet<number> | undefined;
  rng: Rng;
  matched: number;
  fired: number;
}

export class DeliveryFaultError extends Error {
  override name = 'DeliveryFaultError';
}

const KEYS: ReadonlySet<string> = new Set(['id', 'kind', 'delayMs', 'holdMs', 'entity', 'action', 'webhookId', 'probability', 'seed', 'nth', 'every', 'times']);

export class DeliveryFaults {
  private rules: LiveRule[] = [];
  private lastId = 0;
  readonly injected: Record<DeliveryFaultKind, number> = { drop: 0, delay: 0, duplicate: 0, reorder: 0 };

  constructor(
    private readonly seed = 1,
    rules: readonly DeliveryFaultInput[] = [],
  ) {
    if (rules.length > 0) this.add([...rules]);
  }

  /** Validate and append rules (all or none); returns their ids. Throws DeliveryFaultError naming the field. */
  add(input: unknown): string[] {
    const list = Array.isArray(input) ? input : [input];
    const taken = new Set(this.rules.map((r) => r.input.id));
    const parsed = list.map((raw) => {
      const rule = parseDeliveryFault(raw, () => {
        let id: string;
        do id = `webhook-fault-${++this.lastId}`;
        while (taken.has(id));
        return id;
      });
      if (taken.has(rule.input.id)) throw new DeliveryFaultError(`a webhook fault rule with id "${rule.input.id}" already exists`);
      taken.add(rule.input.id);
      return rule;
    });
    for (const r of parsed) this.rules.push({ ...r, rng: new Rng((r.input.seed ?? this.seed) >>> 0), matched: 0, fired: 0 });
    return parsed.map((r) => r.input.id);
  }

  clear(id?: string): boolean {
    if (id === undefined) {
      this.rules = [];
      for (const k of DELIVERY_FAULT_KINDS) this.injected[k] = 0;
      return true;
    }
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.input.id !== id);
    return this.rules.length < before;
  }

  stats(): { rules: { rule: DeliveryFaultInput; matched: number; fired: number }[]; injected: Record<DeliveryFaultKind, number> } {
    return { rules: this.rules.map((r) => ({ rule: r.input, matched: r.matched, fired: r.fired })), injected: { ...this.injected } };
  }

  /** The rules that fire for this delivery, in order (counters updated). */
  select(t: DeliveryTarget): (DeliveryFaultInput & { id: string })[] {
    const fired: (DeliveryFaultInput & { id: string })[] = [];
    for (const live of this.rules) {
      const r = live.input;
      if (r.entity !== undefined && r.entity !== t.entity) continue;
      if (r.action !== undefined && r.action !== t.action) continue;
      if (r.webhookId !== undefined && r.webhookId !== t.webhookId) continue;
      live.matched += 1;
      if (r.times !== undefined && live.fired >= r.times) continue;
      if (live.nth && !live.nth.has(live.matched)) continue;
      if (r.every !== undefined && live.matched % r.every !== 0) continue;
      // Drawn last, only for otherwise eligible deliveries, so a rule's sequence depends on its own matches only.
      if (r.probability !== undefined && !(live.rng.float() < r.probability)) continue;
      live.fired += 1;
      this.injected[r.kind] += 1;
      fired.push(r);
    }
    return fired;
  }
}

function parseDeliveryFault(raw: unknown, nextId: () => string): { input: DeliveryFaultInput & { id: string }; nth: ReadonlySet<number> | undefined } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DeliveryFaultError('a webhook fault rule must be a JSON object');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.has(k)) throw new DeliveryFaultError(`unknown webhook fault rule field: ${k}`);
  if (!(DELIVERY_FAULT_KINDS as readonly unknown[]).includes(r['kind'])) throw new DeliveryFaultError(`kind must be one of ${DELIVERY_FAULT_KINDS.join(', ')}`);
  const kind = r['kind'] as DeliveryFaultKind;
  const int = (key: string, min: number, max: number): number | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new DeliveryFaultError(`${key} must be an integer between ${min} and ${max}`);
    return v;
  };
  const str = (key: string): string | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new DeliveryFaultError(`${key} must be a non-empty string`);
    return v;
  };
  const delayMs = int('delayMs', 0, 600_000);
  if ((kind === 'delay') !== (delayMs !== undefined)) throw new DeliveryFaultError('delayMs is required for, and only for, kind "delay"');
  const holdMs = int('holdMs', 0, 600_000);
  if (holdMs !== undefined && kind !== 'reorder') throw new DeliveryFaultError('holdMs only applies to kind "reorder"');
  const action = str('action');
  if (action !== undefined && !['create', 'change', 'delete'].includes(action)) throw new DeliveryFaultError('action must be one of create, change, delete');
  const p = r['probability'];
  if (p !== undefined && (typeof p !== 'number' || !(p >= 0 && p <= 1))) throw new DeliveryFaultError('probability must be a number between 0 and 1');
  const nthRaw = r['nth'];
  const nth = nthRaw === undefined ? undefined : typeof nthRaw === 'number' ? [nthRaw] : nthRaw;
  if (nth !== undefined && (!Array.isArray(nth) || nth.length === 0 || !nth.every((n) => Number.isSafeInteger(n) && (n as number) >= 1))) {
    throw new DeliveryFaultError('nth must be a positive integer or a list of them');
  }
  const input: DeliveryFaultInput & { id: string } = {
    ...(r as unknown as DeliveryFaultInput),
    id: str('id') ?? nextId(),
    kind,
  };
  int('webhookId', 1, Number.MAX_SAFE_INTEGER);
  int('seed', 0, 2 ** 32 - 1);
  int('every', 1, Number.MAX_SAFE_INTEGER);
  int('times', 1, Number.MAX_SAFE_INTEGER);
  str('entity');
  return { input, nth: nth && new Set(nth as number[]) };
}
