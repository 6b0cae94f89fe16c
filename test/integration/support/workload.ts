import type { Simulator } from '../../../src/simulator/server.ts';
import { mulberry32 } from '../../../src/simulator/prng.ts';

/**
 * A seeded random workload of writes against the local Pipedrive's HTTP API — creates, updates (some of
 * them twice within one second), deletes, custom fields added and renamed — the way a Pipedrive user
 * changes data. It remembers what it deleted, so a test can check the sink marked those rows.
 */
export interface Workload {
  step(): Promise<string>;
  addCustomField(): Promise<void>;
  /** Renames the most recently added custom field. */
  renameLastCustomField(): Promise<void>;
  /** Updates a deal and returns a function that changes that deal once more (call it in the same second). */
  updateDealTwice(): Promise<() => Promise<void>>;
  /** Table name → keys deleted through the API. */
  readonly deleted: Map<string, Set<string>>;
  /** Custom fields added: their key, first name and current name. */
  readonly customFields: Array<{ entity: string; key: string; firstName: string; name: string }>;
}

type Json = Record<string, unknown>;

export function workload(sim: Simulator, seed: number): Workload {
  const rnd = mulberry32(seed * 7919 + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const deleted = new Map<string, Set<string>>();
  const customFields: Workload['customFields'] = [];
  const markDeleted = (table: string, key: string | number) => {
    if (!deleted.has(table)) deleted.set(table, new Set());
    deleted.get(table)!.add(String(key));
  };
  const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${sim.baseUrl}${path}`, {
      method,
      headers: { 'x-api-token': sim.token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { success: boolean; data: Json };
    if (!res.ok || !json.success) throw new Error(`${method} ${path} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json.data;
  };
  const ids = async (path: string, key = 'id'): Promise<Array<string | number>> => {
    const res = await fetch(`${sim.baseUrl}${path}${path.includes('?') ? '&' : '?'}limit=500`, { headers: { 'x-api-token': sim.token } });
    const json = (await res.json()) as { data: Json[] | null };
    // Lists may show deleted rows (flags): only live ones can be changed.
    return (json.data ?? []).filter((r) => r.active_flag !== false && r.is_deleted !== true).map((r) => r[key] as string | number);
  };
  /** One live id of a list, or undefined when it is empty (the step then does nothing). */
  const one = async (path: string): Promise<string | number | undefined> => {
    const list = await ids(path);
    return list.length === 0 ? undefined : pick(list);
  };
  let n = 0;
  const word = () => pick(['alpha', 'bravo', 'delta', 'echo', 'kilo', 'lima', 'oscar', 'zulu']) + ` ${++n}`;

  /** Per entity: create, update, delete through the API. */
  const entities: Record<string, { create(): Promise<void>; update(): Promise<void>; remove(): Promise<void> }> = {
    deal: v2('deal', '/api/v2/deals', () => ({ title: `Deal ${word()}`, value: Math.round(rnd() * 10000) }), () => pick([{ title: `Deal ${word()}` }, { value: Math.round(rnd() * 50000) }, { status: pick(['won', 'lost', 'open']) }])),
    person: v2('person', '/api/v2/persons', () => ({ name: `Person ${word()}`, emails: [{ value: `p${n}@example.com`, primary: true, label: 'work' }] }), () => pick([{ name: `Person ${word()}` }, { emails: [{ value: `q${n}@example.com`, primary: true, label: 'home' }, { value: `r${n}@example.com`, primary: false, label: 'work' }] }, { phones: [] }])),
    organization: v2('organization', '/api/v2/organizations', () => ({ name: `Org ${word()}` }), () => ({ name: `Org ${word()}` })),
    activity: v2('activity', '/api/v2/activities', () => ({ subject: `Call ${word()}` }), () => pick([{ subject: `Meet ${word()}` }, { done: true }])),
    product: v2('product', '/api/v2/products', () => ({ name: `Product ${word()}` }), () => ({ name: `Product ${word()}` })),
    note: {
      create: async () => {
        const deal = await one('/api/v2/deals');
        if (deal !== undefined) await call('POST', '/v1/notes', { content: `Note ${word()}`, deal_id: Number(deal) });
      },
      update: async () => {
        const id = await one('/v1/notes');
        if (id !== undefined) await call('PUT', `/v1/notes/${id}`, { content: `Edited ${word()}` });
      },
      remove: async () => {
        const id = await one('/v1/notes');
        if (id === undefined) return;
        await call('DELETE', `/v1/notes/${id}`);
        markDeleted('note', id);
      },
    },
    activity_type: {
      create: async () => void (await call('POST', '/v1/activityTypes', { name: `Type ${word()}`, icon_key: 'call' })),
      update: async () => {
        const id = await one('/v1/activityTypes');
        if (id !== undefined) await call('PUT', `/v1/activityTypes/${id}`, { name: `Type ${word()}` });
      },
      remove: async () => {
        const list = (await ids('/v1/activityTypes')).slice(6); // keep the built-in ones
        if (list.length === 0) return;
        const id = pick(list);
        await call('DELETE', `/v1/activityTypes/${id}`);
        markDeleted('activity_type', id);
      },
    },
    lead: {
      create: async () => {
        const person = await one('/api/v2/persons');
        if (person !== undefined) await call('POST', '/v1/leads', { title: `Lead ${word()}`, person_id: Number(person) });
      },
      update: async () => {
        const id = await one('/v1/leads');
        if (id !== undefined) await call('PATCH', `/v1/leads/${id}`, { title: `Lead ${word()}` });
      },
      remove: async () => {
        const id = await one('/v1/leads');
        if (id === undefined) return;
        await call('DELETE', `/v1/leads/${id}`);
        markDeleted('lead', id);
      },
    },
    lead_label: {
      create: async () => void (await call('POST', '/v1/leadLabels', { name: `Label ${word()}`, color: pick(['blue', 'green', 'red']) })),
      update: async () => {
        const id = await one('/v1/leadLabels');
        if (id !== undefined) await call('PATCH', `/v1/leadLabels/${id}`, { name: `Label ${word()}` });
      },
      remove: async () => undefined, // labels are shared by leads; kept
    },
  };

  /**
   * Deal participants and followers, added and removed on a random stream of their own (the entity steps
   * above stay as they were for a seed).
   */
  const rndPeople = mulberry32(seed * 104_729 + 3);
  const pickPeople = <T>(xs: readonly T[]): T => xs[Math.floor(rndPeople() * xs.length)]!;
  const onePeople = async (path: string): Promise<string | number | undefined> => {
    const list = await ids(path);
    return list.length === 0 ? undefined : pickPeople(list);
  };
  const dealPeople = [
    async () => {
      const deal = await onePeople('/api/v2/deals');
      const person = await onePeople('/api/v2/persons');
      if (deal === undefined || person === undefined) return;
      const taken = (await ids(`/v1/deals/${deal}/participants`, 'person_id')).map((p) => (p as unknown as Json)['value']);
      if (!taken.includes(person)) await call('POST', `/v1/deals/${deal}/participants`, { person_id: Number(person) });
    },
    async () => {
      const deal = await onePeople('/api/v2/deals');
      if (deal === undefined) return;
      const list = await ids(`/v1/deals/${deal}/participants`);
      if (list.length > 0) await call('DELETE', `/v1/deals/${deal}/participants/${pickPeople(list)}`);
    },
    async () => {
      const deal = await onePeople('/api/v2/deals');
      if (deal === undefined) return;
      const taken = new Set(await ids(`/api/v2/deals/${deal}/followers`, 'user_id'));
      const free = [1, 2, 3, 4, 5].filter((u) => !taken.has(u));
      if (free.length > 0) await call('POST', `/api/v2/deals/${deal}/followers`, { user_id: pickPeople(free) });
    },
    async () => {
      const deal = await onePeople('/api/v2/deals');
      if (deal === undefined) return;
      const list = await ids(`/api/v2/deals/${deal}/followers`, 'user_id');
      if (list.length > 0) await call('DELETE', `/api/v2/deals/${deal}/followers/${pickPeople(list)}`);
    },
  ];

  function v2(table: string, path: string, createBody: () => Json, updateBody: () => Json) {
    return {
      create: async () => void (await call('POST', path, createBody())),
      update: async () => {
        const id = await one(path);
        if (id !== undefined) await call('PATCH', `${path}/${id}`, updateBody());
      },
      remove: async () => {
        const id = await one(path);
        if (id === undefined) return;
        await call('DELETE', `${path}/${id}`);
        markDeleted(table, id);
      },
    };
  }

  const addCustomField = async () => {
    const entity = pick(['deal', 'person']);
    const name = `Custom ${word()}`;
    const fieldType = pick(['varchar', 'double', 'enum']);
    const f = await call('POST', `/api/v2/${entity}Fields`, { field_name: name, field_type: fieldType, ...(fieldType === 'enum' ? { options: [{ label: 'One' }, { label: 'Two' }] } : {}) });
    customFields.push({ entity, key: String(f.field_code), firstName: name, name });
    // Give a few rows a value right away.
    const path = entity === 'deal' ? '/api/v2/deals' : '/api/v2/persons';
    const type = String(f.field_type);
    const options = (f.options as Array<{ id: number }> | null) ?? [];
    for (const id of (await ids(path)).slice(0, 3)) {
      const value = type === 'double' ? 12.5 : type === 'enum' ? options[0]?.id ?? null : `value ${n}`;
      await call('PATCH', `${path}/${id}`, { custom_fields: { [String(f.field_code)]: value } });
    }
  };
  const renameCustomField = async () => {
    if (customFields.length === 0) return addCustomField();
    const f = pick(customFields);
    f.name = `Renamed ${word()}`;
    await call('PATCH', `/api/v2/${f.entity}Fields/${f.key}`, { field_name: f.name });
  };

  return {
    deleted,
    customFields,
    addCustomField,
    async updateDealTwice() {
      const id = await one('/api/v2/deals');
      if (id === undefined) return async () => undefined;
      await call('PATCH', `/api/v2/deals/${id}`, { title: `Deal ${word()}` });
      return async () => void (await call('PATCH', `/api/v2/deals/${id}`, { title: `Deal ${word()}`, value: Math.round(rnd() * 1000) }));
    },
    async renameLastCustomField() {
      const f = customFields.at(-1);
      if (!f) return;
      f.name = `Renamed ${word()}`;
      await call('PATCH', `/api/v2/${f.entity}Fields/${f.key}`, { field_name: f.name });
    },
    async step() {
      if (rndPeople() < 0.3) await pickPeople(dealPeople)();
      const r = rnd();
      const table = pick(Object.keys(entities));
      const e = entities[table]!;
      if (r < 0.04) {
        await addCustomField();
        return 'custom field added';
      }
      if (r < 0.07) {
        await renameCustomField();
        return 'custom field renamed';
      }
      if (r < 0.32) {
        await e.create();
        return `create ${table}`;
      }
      if (r < 0.42) {
        await e.remove();
        return `delete ${table}`;
      }
      await e.update();
      if (rnd() < 0.3) await e.update(); // another change within the same second (the clock is frozen)
      return `update ${table}`;
    },
  };
}
