/**
 * v2 deal products — getDealsProducts (deal_ids ≤ 100), getDealProducts, addDealProduct,
 * updateDealProduct, deleteDealProduct — and deal installments (getInstallments, read-only fixtures).
 * Mounted before the deal routes: /deals/products must not be taken for /deals/{id}.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest, entityNotFound, sendData, sendList } from '../../http/envelope.ts';
import { pathId, toPositiveInt } from '../../http/params.ts';
import { presentDealProduct, type DealProductChanges, type DealProductRecord } from '../../store/deal-products.ts';
import type { SimStore } from '../../store/index.ts';
import { installmentsOf, type Installment } from '../../store/installments.ts';
import { pageSorted, sortRows, type KeyOf } from '../../store/scan.ts';
import type { Row } from '../../store/table.ts';
import { guarded, oneOf, parseBody, type Kind } from './body.ts';
import { idListQuery, nextCursor, parseListParams } from './list-params.ts';
import { BILLING_FREQUENCIES } from '../../store/products.ts';

const KINDS: Record<string, Kind> = {
  product_id: 'int', item_price: 'number', quantity: 'number', tax: 'number', comments: 'string', discount: 'number',
  is_enabled: 'bool', tax_method: oneOf(['exclusive', 'inclusive', 'none']), discount_type: oneOf(['percentage', 'amount']),
  product_variation_id: 'int?', billing_frequency: oneOf(BILLING_FREQUENCIES), billing_frequency_cycles: 'int?',
  billing_start_date: 'date?',
};
const REQUIRED_ON_ADD = ['product_id', 'item_price', 'quantity'];

const PRODUCT_KEYS: Record<string, KeyOf<DealProductRecord>> = {
  id: (r) => r.id, add_time: (r) => r.addSec, update_time: (r) => r.updateSec,
  order_nr: (r) => r.data.order_nr, deal_id: (r) => r.data.deal_id,
};
const INSTALLMENT_KEYS: Record<string, KeyOf<Installment>> = {
  id: (r) => r.id, billing_date: (r) => r.data.billing_date, deal_id: (r) => r.data.deal_id,
};

export function dealProductRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const attachments = store.dealProducts;

  const page = <T>(req: express.Request, rows: Row<T>[], keys: Record<string, KeyOf<T>>, present: (row: Row<T>) => object) => {
    const p = parseListParams(req, Object.keys(keys), false);
    const key = keys[p.sortBy]!;
    const { rows: out, next } = pageSorted(sortRows(rows, key), key, { ...p, accept: () => true });
    return { data: out.map(present), cursor: nextCursor(p, next) };
  };
  const dealIdsOf = (req: express.Request): Set<number> => {
    const ids = idListQuery(req, 'deal_ids');
    if (!ids || ids.size === 0) throw badRequest('Validation failed: deal_ids: Required');
    return ids;
  };

  r.get('/deals/products', operation('getDealsProducts'), guarded((req, res) => {
    const { data, cursor } = page(req, attachments.ofDeals(dealIdsOf(req)), PRODUCT_KEYS, presentDealProduct);
    sendList(res, data, cursor);
  }));

  r.get('/deals/installments', operation('getInstallments'), guarded((req, res) => {
    const rows = [...dealIdsOf(req)].flatMap((id) => {
      const deal = store.deals.getRow(id)?.data;
      return deal ? installmentsOf(deal, attachments.ofDeals([id]).map((a) => a.data)).map((i): Row<Installment> => ({ id: i.id, addSec: 0, updateSec: 0, deletedAtMs: null, version: 1, data: i })) : [];
    });
    const { data, cursor } = page(req, rows, INSTALLMENT_KEYS, (row) => row.data);
    sendList(res, data, cursor);
  }));

  r.get('/deals/:id/products', operation('getDealProducts'), guarded((req, res) => {
    const dealId = pathId(req);
    if (!store.deals.getRow(dealId)) throw entityNotFound();
    const keys = { ...PRODUCT_KEYS };
    delete keys['deal_id'];
    const { data, cursor } = page(req, attachments.ofDeals([dealId]), keys, presentDealProduct);
    sendList(res, data, cursor);
  }));

  r.post('/deals/:id/products', operation('addDealProduct'), guarded((req, res) => {
    const dealId = pathId(req);
    const body = parseBody(req.body, KINDS);
    for (const k of REQUIRED_ON_ADD) if (body[k] === undefined) throw badRequest(`Validation failed: ${k}: Required`);
    const row = attachments.add(dealId, body as DealProductChanges & { product_id: number; item_price: number; quantity: number });
    res.status(201);
    sendData(res, presentDealProduct(row));
  }));

  r.patch('/deals/:id/products/:product_attachment_id', operation('updateDealProduct'), guarded((req, res) => {
    const row = attachments.update(pathId(req), attachmentId(req), parseBody(req.body, KINDS) as DealProductChanges);
    if (!row) throw entityNotFound();
    sendData(res, presentDealProduct(row));
  }));

  r.delete('/deals/:id/products/:product_attachment_id', operation('deleteDealProduct'), guarded((req, res) => {
    const id = attachmentId(req);
    if (!attachments.delete(pathId(req), id)) throw entityNotFound();
    sendData(res, { id });
  }));
  return r;
}

const attachmentId = (req: express.Request): number => toPositiveInt(String(req.params['product_attachment_id']), 'product_attachment_id');
