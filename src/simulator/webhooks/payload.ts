/**
 * A journaled write as a webhooks v2 body: `{meta, data, previous}` (Pipedrive's "Guide for Webhooks v2";
 * field list in docs/pipedrive-api.md §b7). `data` is the entity right after the write as the v2 API
 * presents it (custom fields under `data.custom_fields`; note, user and lead, which v2 lacks, as v1 does);
 * `previous` holds only the fields that changed, with their old values (null on create).
 *
 * Open (docs §d7): the real meta's id types (we send integers for ids, strings for the delivery id and
 * timestamp) and what a delete carries (here: `data` is the deleted entity as the API would show it,
 * `previous` null).
 */
import { randomUUID } from 'node:crypto';
import { presentLead } from '../routes/v1/leads.ts';
import { names } from '../routes/v1/names.ts';
import { presentNote } from '../routes/v1/notes.ts';
import { presentUser } from '../routes/v1/users.ts';
import { presentDeal } from '../routes/v2/deal-present.ts';
import type { ChangeEvent } from '../store/events.ts';
import type { SimStore } from '../store/index.ts';
import type { Webhook } from './registry.ts';

export type WebhookEntity = 'activity' | 'deal' | 'lead' | 'note' | 'organization' | 'person' | 'pipeline' | 'product' | 'stage' | 'user';
const ENTITIES: ReadonlySet<string> = new Set<WebhookEntity>(['activity', 'deal', 'lead', 'note', 'organization', 'person', 'pipeline', 'product', 'stage', 'user']);
const ACTIONS = { add: 'create', update: 'change', delete: 'delete' } as const;

export interface WebhookEvent {
  readonly entity: WebhookEntity;
  readonly action: 'create' | 'change' | 'delete';
  readonly entityId: number | string;
  readonly userId: number;
  readonly timeMs: number;
  /** Shared by every delivery of this one change (meta.correlation_id). */
  readonly correlationId: string;
  readonly data: Record<string, unknown>;
  readonly previous: Record<string, unknown> | null;
}

/** Which webhook event a journaled write is, or null for item types no webhook carries (files, filters, …). */
export function webhookKind(e: ChangeEvent): { entity: WebhookEntity; action: 'create' | 'change' | 'delete' } | null {
  return ENTITIES.has(e.itemType) ? { entity: e.itemType as WebhookEntity, action: ACTIONS[e.action] } : null;
}

/** The event a journaled write makes (its entity presented now), or null for item types no webhook carries. */
export function webhookEvent(store: SimStore, e: ChangeEvent): WebhookEvent | null {
  const kind = webhookKind(e);
  if (!kind) return null;
  const { entity, action } = kind;
  return {
    entity,
    action,
    entityId: e.id,
    userId: e.userId,
    timeMs: e.timeMs,
    correlationId: randomUUID(),
    // Taken now: the journal is told right after the write, before any later write changes the row.
    data: currentData(store, entity, e.id, e.userId) ?? { id: e.id },
    previous: action === 'change' ? previousOf(e) : null,
  };
}

/** Only the fields that changed, old values; custom fields (hash keys) under `custom_fields`. */
function previousOf(e: ChangeEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const custom: Record<string, unknown> = {};
  for (const c of e.changes) {
    if (/^[0-9a-f]{40}$/.test(c.field)) custom[c.field] = c.oldValue;
    else out[c.field] = c.oldValue;
  }
  if (Object.keys(custom).length > 0) out['custom_fields'] = custom;
  return out;
}

function currentData(store: SimStore, entity: WebhookEntity, id: number | string, viewer: number): Record<string, unknown> | undefined {
  const num = typeof id === 'number' ? id : Number.NaN;
  const v2 = <R>(s: { getRow(id: number): unknown; present(row: never): Record<string, unknown> }): Record<string, unknown> | undefined => {
    const row = s.getRow(num) as R | undefined;
    return row === undefined ? undefined : s.present(row as never);
  };
  switch (entity) {
    case 'deal': {
      const row = store.deals.getRow(num);
      return row && (presentDeal(row.data) as Record<string, unknown>);
    }
    case 'person':
      return v2(store.persons);
    case 'organization':
      return v2(store.organizations);
    case 'activity':
      return v2(store.activities);
    case 'product':
      return v2(store.products);
    case 'pipeline':
      return v2(store.pipelines);
    case 'stage':
      return v2(store.stages);
    case 'note': {
      const row = store.v1.notes.rows.table.get(num);
      return row && presentNote(row, names(store), viewer, store);
    }
    case 'user': {
      const row = store.v1.users.rows.table.get(num);
      return row && presentUser(row, viewer);
    }
    case 'lead': {
      const row = typeof id === 'string' ? store.v1.leads.rows.byId(id) : undefined;
      return row && presentLead(row);
    }
  }
}

/** One delivery's body: meta for this webhook and attempt, the event's data and previous. */
export function webhookBody(ev: WebhookEvent, hook: Webhook, deliveryId: string, attempt: number, host: string): Record<string, unknown> {
  return {
    meta: {
      action: ev.action,
      entity: ev.entity,
      entity_id: ev.entityId,
      id: deliveryId,
      company_id: hook.companyId,
      user_id: ev.userId,
      correlation_id: ev.correlationId,
      timestamp: new Date(ev.timeMs).toISOString(),
      version: '2.0',
      webhook_id: hook.id,
      webhook_owner_id: hook.ownerId,
      change_source: 'api',
      is_bulk_edit: false,
      permitted_user_ids: [hook.userId],
      attempt,
      host,
      type: 'general',
    },
    data: ev.data,
    previous: ev.previous,
  };
}
