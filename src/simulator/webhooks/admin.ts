/**
 * /_sim/webhooks: watch and break webhook deliveries (no token, like the rest of /_sim).
 *   GET    /_sim/webhooks              → {stats, faults, attempts (the last 100)}
 *   POST   /_sim/webhooks/faults       a rule or a list (see faults.ts) → 201 {ids}
 *   DELETE /_sim/webhooks/faults[/id]  remove all rules, or one (404 if unknown)
 *   POST   /_sim/webhooks/run-due      send the retries that are due on the sim clock now
 */
import express, { type Router } from 'express';
import { ApiError, badRequest, errorBody } from '../http/envelope.ts';
import type { WebhookDelivery } from './delivery.ts';

export function webhooksAdminRoutes(delivery: WebhookDelivery): Router {
  const r = express.Router();
  const state = () => ({ success: true, data: { stats: delivery.stats(), faults: delivery.faults.stats(), attempts: delivery.attempts.slice(-100) } });
  r.get('/webhooks', (_req, res) => {
    res.json(state());
  });
  r.post('/webhooks/faults', (req, res) => {
    let ids: string[];
    try {
      ids = delivery.faults.add(req.body);
    } catch (e) {
      throw badRequest(e instanceof Error ? e.message : String(e));
    }
    res.status(201).json({ success: true, data: { ids } });
  });
  r.delete('/webhooks/faults', (_req, res) => {
    delivery.faults.clear();
    res.json(state());
  });
  r.delete('/webhooks/faults/:id', (req, res) => {
    if (!delivery.faults.clear(req.params.id)) throw new ApiError(404, 'No such webhook fault rule', errorBody('No such webhook fault rule'));
    res.json(state());
  });
  r.post('/webhooks/run-due', (_req, res) => {
    delivery.runDue();
    res.json(state());
  });
  return r;
}
