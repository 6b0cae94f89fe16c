/**
 * v1 webhooks: addWebhook, getWebhooks, deleteWebhook (the only webhook API Pipedrive has; v2 payloads
 * are chosen by `version: "2.0"`, the default since 2025-03-17). Validation failures answer the spec's
 * WebhooksBadRequestResponse (`{status: "error", success: false, errors: {field: [why]}}`), not the
 * generic error body. Deliveries are webhooks/delivery.ts.
 */
import express, { type RequestHandler, type Response, type Router } from 'express';
import { ApiError } from '../../http/envelope.ts';
import type { SimStore } from '../../store/index.ts';
import { MAX_WEBHOOKS_PER_USER, WEBHOOK_ACTIONS, WEBHOOK_OBJECTS, WebhookLimitError, type Webhook, type WebhookAction, type WebhookObject } from '../../webhooks/registry.ts';
import { bodyOf } from './body.ts';
import { caller } from './common.ts';

export function presentWebhook(w: Webhook): Record<string, unknown> {
  return {
    id: w.id, company_id: w.companyId, owner_id: w.ownerId, user_id: w.userId, event_action: w.eventAction, event_object: w.eventObject,
    subscription_url: w.subscriptionUrl, version: w.version, is_active: 1, add_time: new Date(w.addTimeMs).toISOString(), remove_time: null,
    type: 'general', http_auth_user: w.httpAuthUser, http_auth_password: w.httpAuthPassword, remove_reason: null,
    last_delivery_time: w.lastDeliveryTimeMs === null ? null : new Date(w.lastDeliveryTimeMs).toISOString(), last_http_status: w.lastHttpStatus,
    admin_id: w.ownerId, name: w.name,
  };
}

/** The spec's webhook error body: errors per field. */
function webhookError(status: number, field: string, why: string): ApiError {
  return new ApiError(status, `${field}: ${why}`, { status: 'error', success: false, errors: { [field]: [why] } });
}

function ok(res: Response, status: number, data?: unknown): void {
  res.status(status).json({ status: 'ok', success: true, ...(data === undefined ? {} : { data }) });
}

export function webhookRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const hooks = store.webhooks;

  r.get('/webhooks', operation('getWebhooks'), (_req, res) => {
    ok(res, 200, hooks.list().map(presentWebhook));
  });

  r.post('/webhooks', operation('addWebhook'), (req, res) => {
    const body = bodyOf(req);
    const me = caller(res);
    const text = (key: string, required: boolean, max = 2048): string | null => {
      const v = body[key];
      if (v === undefined || v === null || v === '') {
        if (required) throw webhookError(400, key, 'is required');
        return null;
      }
      if (typeof v !== 'string') throw webhookError(400, key, 'must be a string');
      if (v.length > max) throw webhookError(400, key, `must be at most ${max} characters`);
      return v;
    };
    const url = text('subscription_url', true)!;
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw webhookError(400, 'subscription_url', 'invalid or non-reachable URL');
    const action = text('event_action', true)!;
    if (!(WEBHOOK_ACTIONS as readonly string[]).includes(action)) throw webhookError(400, 'event_action', `must be one of ${WEBHOOK_ACTIONS.join(', ')}`);
    const object = text('event_object', true)!;
    if (!(WEBHOOK_OBJECTS as readonly string[]).includes(object)) throw webhookError(400, 'event_object', `must be one of ${WEBHOOK_OBJECTS.join(', ')}`);
    const name = text('name', true, 255)!;
    const version = text('version', false) ?? '2.0';
    if (version !== '1.0' && version !== '2.0') throw webhookError(400, 'version', 'must be one of 1.0, 2.0');
    const rawUser = body['user_id'];
    let userId = me.userId;
    if (rawUser !== undefined && rawUser !== null) {
      const n = typeof rawUser === 'string' && /^\d+$/.test(rawUser) ? Number(rawUser) : rawUser;
      if (!Number.isSafeInteger(n) || !store.v1.users.rows.table.get(n as number)) throw webhookError(400, 'user_id', 'not found');
      userId = n as number;
      // Another user's permissions are an admin's to hand out.
      if (userId !== me.userId && !me.admin) throw webhookError(403, 'user_id', 'only an admin may create a webhook for another user');
    }
    const authUser = text('http_auth_user', false, 255);
    const authPassword = text('http_auth_password', false, 255);
    try {
      const w = hooks.create({ ownerId: me.userId, userId, eventAction: action as WebhookAction, eventObject: object as WebhookObject, subscriptionUrl: url, version, name, httpAuthUser: authUser, httpAuthPassword: authPassword });
      ok(res, 201, presentWebhook(w));
    } catch (e) {
      if (e instanceof WebhookLimitError) throw webhookError(400, 'limit', `a user can have at most ${MAX_WEBHOOKS_PER_USER} webhooks`);
      throw e;
    }
  });

  r.delete('/webhooks/:id', operation('deleteWebhook'), (req, res) => {
    const raw = String(req.params['id']);
    const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
    const w = hooks.get(id);
    if (!w) throw webhookError(404, 'id', 'not found');
    const me = caller(res);
    if (w.ownerId !== me.userId && !me.admin) throw new ApiError(403, 'Forbidden', { success: false, message: 'Forbidden' });
    hooks.delete(id);
    ok(res, 200);
  });

  return r;
}
