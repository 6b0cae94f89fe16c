/**
 * The connector's webhook subscriptions in Pipedrive (`/v1/webhooks`): one v2 webhook per synced entity
 * (event_action `*`), posting to the connector's public URL with its basic-auth credentials.
 *
 * Every webhook whose subscription_url is ours is the connector's to manage, whoever made it: one that
 * already carries our credentials and an entity we sync is reused (an admin may have created it), any
 * other — old credentials, an entity no longer synced, a duplicate left by a retried POST — is deleted.
 * With a generated password (no WEBHOOK_PASSWORD) nothing can be reused across starts, so all are replaced.
 * `remove()` deletes them all when the connector is removed. Costs: list 10 tokens, add 10, delete 6.
 */
import { z } from 'zod';
import type { Logger } from '../observe/log.ts';
import type { PipedriveClient } from './client.ts';
import { PipedriveResponseError } from './errors.ts';

/** addWebhook's event_object values that are catalog tables of their own. */
export const WEBHOOK_OBJECTS = ['activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user'] as const;

export interface ConnectorWebhookSettings {
  readonly connector: string;
  /** WEBHOOK_PUBLIC_URL: where Pipedrive posts. */
  readonly subscriptionUrl: string;
  readonly user: string;
  readonly password: string;
  /** The password was generated at this start: no registered webhook can carry it yet. */
  readonly generatedPassword: boolean;
}

const listed = z.object({
  success: z.boolean().optional(),
  data: z.array(z.object({
    id: z.number().int(),
    subscription_url: z.string(),
    event_action: z.string(),
    event_object: z.string(),
    version: z.string().optional(),
    http_auth_user: z.string().nullable().optional(),
    http_auth_password: z.string().nullable().optional(),
  }).passthrough()).nullable(),
});
type Listed = z.infer<typeof listed>['data'] & object;

const created = z.object({ data: z.object({ id: z.number().int() }).passthrough() });

/** The entities whose webhooks a connector syncing `tables` wants. */
export function webhookObjectsFor(tables: readonly string[]): string[] {
  const set = new Set(tables);
  return WEBHOOK_OBJECTS.filter((o) => set.has(o));
}

export class ConnectorWebhooks {
  private ids = new Set<number>();

  constructor(
    private readonly client: PipedriveClient,
    private readonly settings: ConnectorWebhookSettings,
    private readonly log?: Logger,
  ) {}

  /** Ids of the connector's webhooks after the last ensure(): what the receiver accepts. */
  knownIds(): ReadonlySet<number> {
    return this.ids;
  }

  /** Make Pipedrive hold exactly one webhook of ours per wanted entity; returns their ids. */
  async ensure(tables: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<number>> {
    const wanted = webhookObjectsFor(tables);
    const ours = (await this.list(signal)).filter((w) => sameUrl(w.subscription_url, this.settings.subscriptionUrl));
    const keep = new Map<string, number>();
    const stale: number[] = [];
    for (const w of ours) {
      const usable = !this.settings.generatedPassword && w.version === '2.0' && w.event_action === '*' && wanted.includes(w.event_object as never) &&
        w.http_auth_user === this.settings.user && (w.http_auth_password == null || w.http_auth_password === this.settings.password);
      if (usable && !keep.has(w.event_object)) keep.set(w.event_object, w.id);
      else stale.push(w.id);
    }
    // Known before any change: a delivery through a kept webhook during the calls below is accepted.
    this.ids = new Set(keep.values());
    let made = 0;
    for (const object of wanted.filter((o) => !keep.has(o))) {
      const r = await this.client.postJson('/v1/webhooks', {
        subscription_url: this.settings.subscriptionUrl, event_action: '*', event_object: object, version: '2.0',
        name: `pipedrive-cdc ${this.settings.connector} ${object}`.slice(0, 255), http_auth_user: this.settings.user, http_auth_password: this.settings.password,
      }, 'webhooks', signal);
      const body = created.safeParse(r.body);
      if (!body.success) throw new PipedriveResponseError('POST /v1/webhooks: the answer holds no webhook id');
      keep.set(object, body.data.data.id);
      this.ids = new Set(keep.values());
      made += 1;
    }
    for (const id of stale) await this.deleteOne(id, signal);
    this.log?.('webhooks-registered', { connector: this.settings.connector, objects: wanted, reused: wanted.length - made, created: made, deleted: stale.length });
    return this.ids;
  }

  /** Delete every webhook posting to our URL (the connector is being removed). Returns how many. */
  async remove(signal?: AbortSignal): Promise<number> {
    const ours = (await this.list(signal)).filter((w) => sameUrl(w.subscription_url, this.settings.subscriptionUrl));
    for (const w of ours) await this.deleteOne(w.id, signal);
    this.ids = new Set();
    this.log?.('webhooks-removed', { connector: this.settings.connector, deleted: ours.length });
    return ours.length;
  }

  private async list(signal?: AbortSignal): Promise<Listed> {
    const r = await this.client.getJson('/v1/webhooks', {}, 'webhooks', signal);
    const body = listed.safeParse(r.body);
    if (!body.success) throw new PipedriveResponseError(`GET /v1/webhooks: unexpected answer (${body.error.issues[0]?.path.join('.') ?? 'body'})`);
    return body.data.data ?? [];
  }

  private async deleteOne(id: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.deleteJson(`/v1/webhooks/${id}`, 'webhooks', signal);
    } catch (err) {
      // Already gone (deleted by someone else, or by our own earlier attempt whose answer was lost): that is the goal.
      if ((err as { status?: number }).status === 404) return;
      throw err;
    }
  }
}

/** Equal apart from a trailing slash and the case of scheme and host. */
function sameUrl(a: string, b: string): boolean {
  const norm = (u: string): string => {
    try {
      const p = new URL(u);
      return `${p.protocol}//${p.host}${p.pathname.replace(/\/+$/, '')}${p.search}`;
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}
