/**
 * Names of linked items that v1 objects embed (deal title, person name, owner name, ...). Persons
 * and organizations come from the v2 entity stores when the account has them; until then (or for
 * ids that do not exist) the name is null, as for a link to a deleted item.
 */
import type { SimStore } from '../../store/index.ts';

interface NamedStore {
  getRow(id: number): { data: { name?: unknown } } | undefined;
}

/** A store on SimStore by name, if it is there and looks like an entity store. */
export function optionalStore<T>(store: SimStore, key: string, probe: string): T | undefined {
  const s = (store as unknown as Record<string, unknown>)[key];
  return s !== null && typeof s === 'object' && typeof (s as Record<string, unknown>)[probe] === 'function' ? (s as T) : undefined;
}

export interface Names {
  deal(id: number | null): string | null;
  person(id: number | null): string | null;
  org(id: number | null): string | null;
  user(id: number | null): string | null;
  project(id: number | null): string | null;
  task(id: number | null): string | null;
}

export function names(store: SimStore): Names {
  const named = (key: string) => {
    const s = optionalStore<NamedStore>(store, key, 'getRow');
    return (id: number | null): string | null => {
      const n = id === null ? undefined : s?.getRow(id)?.data.name;
      return typeof n === 'string' ? n : null;
    };
  };
  const { projects } = store.v1;
  return {
    deal: (id) => (id === null ? null : (store.deals.getRow(id)?.data.title ?? null)),
    person: named('persons'),
    org: named('organizations'),
    user: (id) => store.v1.users.nameOf(id),
    project: (id) => (id === null ? null : (projects.projects.getRow(id)?.data.title ?? null)),
    task: (id) => (id === null ? null : (projects.tasks.getRow(id)?.data.title ?? null)),
  };
}
