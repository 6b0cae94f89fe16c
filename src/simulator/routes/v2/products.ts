/** v2 products: getProducts, getProduct, addProduct, updateProduct, deleteProduct. */
import type { RequestHandler, Router } from 'express';
import { intQuery } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import { ACCOUNT } from '../../store/account.ts';
import { BILLING_FREQUENCIES, type PriceInput, type ProductChanges } from '../../store/products.ts';
import { badRequest } from '../../http/envelope.ts';
import { OBJECT, VISIBILITY, oneOf, parseBody, requireText, type Check, type Kind } from './body.ts';
import { entityRoutes } from './entity-routes.ts';
import { presenter } from './present-options.ts';

/** prices: [{currency, price, cost?, direct_cost?, notes?}], one per currency. */
const PRICES: Check = (v, fail) => {
  if (!Array.isArray(v)) throw fail('array of {currency, price, cost, direct_cost}');
  const num = (x: unknown, what: string, nullable: boolean): number | null => {
    if (x === undefined || (nullable && x === null)) return nullable ? null : 0;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw fail(`${what} as a number`);
    return x;
  };
  const prices: PriceInput[] = v.map((p: unknown) => {
    if (typeof p !== 'object' || p === null || (p as Record<string, unknown>)['price'] === undefined) throw fail('prices as {currency, price, ...}');
    const o = p as Record<string, unknown>;
    const currency = o['currency'] ?? ACCOUNT.defaultCurrency;
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw fail('currency as a 3-letter code');
    if (o['notes'] !== undefined && o['notes'] !== null && typeof o['notes'] !== 'string') throw fail('notes as a string');
    return { currency, price: num(o['price'], 'price', false)!, cost: num(o['cost'], 'cost', false)!, direct_cost: num(o['direct_cost'], 'direct_cost', true), notes: (o['notes'] as string | undefined) ?? null };
  });
  if (new Set(prices.map((p) => p.currency)).size !== prices.length) throw fail('at most one price per currency');
  return prices;
};

/** category: the spec's request says number; stored and returned as a string (Fivetran: STRING). */
const CATEGORY: Check = (v, fail) => {
  if (v === null) return null;
  if (typeof v !== 'number' && typeof v !== 'string') throw fail('category (number or string)');
  return String(v);
};

const KINDS: Record<string, Kind> = {
  name: 'string', code: 'string?', description: 'string?', unit: 'string?', tax: 'number', category: CATEGORY,
  owner_id: 'int', is_linkable: 'bool', visible_to: VISIBILITY, prices: PRICES, custom_fields: OBJECT,
  billing_frequency: oneOf(BILLING_FREQUENCIES), billing_frequency_cycles: 'int?',
};

export function productRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  return entityRoutes({
    path: '/products',
    ops: { list: 'getProducts', get: 'getProduct', add: 'addProduct', update: 'updateProduct', remove: 'deleteProduct' },
    store: store.products,
    sortFields: ['id', 'name', 'add_time', 'update_time'],
    // updated_since is in SDK 33.7.0 though not in the stored spec; updated_until for symmetry.
    timeFilters: true,
    ids: true,
    addStatus: 201,
    parse(body, creating) {
      const out = parseBody(body, KINDS);
      requireText(out, 'name', creating, 'Validation failed: name: Product name must be given.');
      const cycles = out['billing_frequency_cycles'];
      if (typeof cycles === 'number' && (cycles < 1 || cycles > 208)) throw badRequest('Validation failed: billing_frequency_cycles: Must be between 1 and 208');
      if (out['billing_frequency'] === 'one-time' && typeof cycles === 'number') throw badRequest('Validation failed: billing_frequency_cycles: Must be null for one-time billing');
      if (out['custom_fields']) out['custom_fields'] = store.fields.normalizeCustomFields('product', out['custom_fields']);
      return out as ProductChanges;
    },
    filter(req) {
      const owner = intQuery(req, 'owner_id');
      return owner === undefined ? undefined : (r) => r.data.owner_id === owner;
    },
    // getProducts takes custom_fields (restrict keys); getProduct takes no options.
    present: (req, op) => presenter(req, { entity: 'product', fields: store.fields, customFieldParams: op === 'list' }, store.products.model.present),
  }, operation);
}
