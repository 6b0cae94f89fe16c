/**
 * /_sim/faults: inject faults at runtime.
 *   GET    /_sim/faults       → {rules: [{rule, matched, fired}], injected: {status, delay, drop, truncate, cloudflare403}}
 *   POST   /_sim/faults       a rule or a list of rules (see faults-rules.ts) → 201 {ids}
 *   DELETE /_sim/faults       → remove every rule
 *   DELETE /_sim/faults/{id}  → remove one (404 if unknown)
 */
import express, { type Router } from 'express';
import { ApiError, badRequest, errorBody } from './envelope.ts';
import type { FaultInjector } from './faults.ts';
import type { FaultRuleInput } from './faults-rules.ts';

export function faultsAdminRoutes(faults: FaultInjector): Router {
  const r = express.Router();
  r.get('/faults', (_req, res) => {
    res.json({ success: true, data: faults.stats() });
  });
  r.post('/faults', (req, res) => {
    let ids: string[];
    try {
      ids = faults.add(req.body as FaultRuleInput | FaultRuleInput[]);
    } catch (e) {
      throw badRequest(e instanceof Error ? e.message : String(e));
    }
    res.status(201).json({ success: true, data: { ids } });
  });
  r.delete('/faults', (_req, res) => {
    faults.clear();
    res.json({ success: true, data: faults.stats() });
  });
  r.delete('/faults/:id', (req, res) => {
    if (!faults.clear(req.params.id)) throw new ApiError(404, 'No such fault rule', errorBody('No such fault rule'));
    res.json({ success: true, data: faults.stats() });
  });
  return r;
}
