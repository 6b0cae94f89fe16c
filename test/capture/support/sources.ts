import { tableByName } from '../../../src/catalog/index.ts';
import type { TableSpec } from '../../../src/catalog/types.ts';
import type { ChangeEvent } from '../../../src/capture/change.ts';
import type { EmitContext } from '../../../src/capture/emit.ts';
import { KeyIndex } from '../../../src/capture/key-index.ts';
import { initialOffset } from '../../../src/capture/offset.ts';
import { sourceFor, type SourceOptions } from '../../../src/capture/sources.ts';
import type { TableSource } from '../../../src/capture/table-source.ts';
import type { PipedriveClient } from '../../../src/pipedrive/client.ts';
import type { Simulator } from '../../../src/simulator/server.ts';

/** A table without its custom-field columns (these tests do not read the field catalogs). */
export const plain = (t: TableSpec): TableSpec => ({ ...t, customFields: undefined });

/** The tables' sources from a first sync on, sharing one set of key indexes (the tables' and their children's). */
export function sourcesOf(names: readonly string[], client: PipedriveClient, opts: Partial<SourceOptions> = {}): { sources: TableSource[]; indexes: Map<string, KeyIndex> } {
  const indexes = new Map<string, KeyIndex>();
  for (const n of names) for (const t of [n, ...(tableByName(n).children ?? []).map((c) => c.table)]) indexes.set(t, new KeyIndex(tableByName(t)));
  const sources = names.map((n) => {
    const ctx: EmitContext = { spec: plain(tableByName(n)), tableOf: (x) => plain(tableByName(x)), indexes };
    return sourceFor(ctx, client, initialOffset, { historyRebuild: 'off', ...opts });
  });
  return { sources, indexes };
}

/** Polls the source until it has nothing, committing each batch into the indexes as the engine does; the pass's events. */
export async function drainPass(source: TableSource, indexes: ReadonlyMap<string, KeyIndex>): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  for (let b = await source.poll(); b; b = await source.poll()) {
    for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
    source.committed(b);
    events.push(...b.events);
  }
  return events;
}

/** The local Pipedrive's request count per operation since `mark()` (operations with none left out). */
export function operationCounter(sim: Simulator): { mark(): void; since(): Record<string, number> } {
  const ops = () => structuredClone(sim.rateLimit.stats().byOperation);
  let before = ops();
  return {
    mark: () => void (before = ops()),
    since: () => Object.fromEntries(Object.entries(ops()).map(([op, s]) => [op, s.requests - (before[op]?.requests ?? 0)]).filter(([, n]) => n !== 0)),
  };
}
