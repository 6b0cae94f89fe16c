/**
 * The company's webhook subscriptions (`/v1/webhooks`): what Pipedrive keeps per webhook and reports in
 * its list, plus the delivery bookkeeping the list shows (last delivery time and status). Webhooks are
 * not journaled: changing one is not an item change (no recents entry, no webhook about a webhook).
 */
import type { SimClock } from '../clock.ts';

export const WEBHOOK_ACTIONS = ['create', 'change', 'delete', '*'] as const;
/** The spec's event_object enum (addWebhook). */
export const WEBHOOK_OBJECTS = ['activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user', '*'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];
export type WebhookObject = (typeof WEBHOOK_OBJECTS)[number];

/** Pipedrive's guide: "The maximum limit of webhooks is 40 different webhooks per user." */
export const MAX_WEBHOOKS_PER_USER = 40;

export interface Webhook {
  readonly id: number;
  readonly companyId: number;
  /** The user who created it (the caller's token). */
  readonly ownerId: number;
  /** The user whose permissions the events are checked against (default: the owner). */
  readonly userId: number;
  readonly eventAction: WebhookAction;
  readonly eventObject: WebhookObject;
  readonly subscriptionUrl: string;
  readonly version: '1.0' | '2.0';
  readonly name: string;
  readonly httpAuthUser: string | null;
  readonly httpAuthPassword: string | null;
  readonly addTimeMs: number;
  lastDeliveryTimeMs: number | null;
  lastHttpStatus: number | null;
}

export type NewWebhook = Omit<Webhook, 'id' | 'companyId' | 'addTimeMs' | 'lastDeliveryTimeMs' | 'lastHttpStatus'>;

export class WebhookLimitError extends Error {
  override name = 'WebhookLimitError';
}

export class WebhookRegistry {
  private readonly rows = new Map<number, Webhook>();
  private lastId = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly companyId = 1,
  ) {}

  /** Throws WebhookLimitError when the owner already has MAX_WEBHOOKS_PER_USER. */
  create(w: NewWebhook): Webhook {
    const owned = [...this.rows.values()].filter((x) => x.ownerId === w.ownerId).length;
    if (owned >= MAX_WEBHOOKS_PER_USER) throw new WebhookLimitError(`user ${w.ownerId} already has ${MAX_WEBHOOKS_PER_USER} webhooks, the maximum`);
    const row: Webhook = { ...w, id: ++this.lastId, companyId: this.companyId, addTimeMs: this.clock.nowMs(), lastDeliveryTimeMs: null, lastHttpStatus: null };
    this.rows.set(row.id, row);
    return row;
  }

  get(id: number): Webhook | undefined {
    return this.rows.get(id);
  }

  /** Every webhook of the company, oldest first. */
  list(): Webhook[] {
    return [...this.rows.values()];
  }

  delete(id: number): boolean {
    return this.rows.delete(id);
  }

  /** The webhooks an event of `entity` / `action` goes to (v2 only: the simulator sends no v1 payloads). */
  matching(entity: string, action: 'create' | 'change' | 'delete'): Webhook[] {
    return this.list().filter((w) => w.version === '2.0' && (w.eventObject === '*' || w.eventObject === entity) && (w.eventAction === '*' || w.eventAction === action));
  }

  /** A delivery attempt ended (status 0: no answer). */
  recordDelivery(id: number, status: number): void {
    const w = this.rows.get(id);
    if (!w) return;
    w.lastDeliveryTimeMs = this.clock.nowMs();
    w.lastHttpStatus = status;
  }
}
