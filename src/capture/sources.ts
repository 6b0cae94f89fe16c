import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { ArchivedSource } from './archived.ts';
import type { EmitContext } from './emit.ts';
import { type DeleteSuspects, HintedDeleteSource } from './delete-hints.ts';
import { HistorySource, type HistoryRebuild } from './history.ts';
import { IdScanSource } from './id-scan.ts';
import type { TableOffset } from './offset.ts';
import { type ChangeHints, RecentsGate } from './recents-gate.ts';
import { RecentsSource } from './recents-source.ts';
import { ReimportSource } from './reimport-source.ts';
import { SortedDescSource } from './sorted-desc-source.ts';
import type { TableSource } from './table-source.ts';
import { UpdatedSinceSource } from './updated-since-source.ts';

/**
 * Tables whose deletes are found by absence need the keys already published (re-imported tables their
 * content hashes too), and tables whose history is rebuilt from a changelog the time of each key's last
 * published version (see KeyIndex).
 */
export function needsKeyIndex(spec: TableSpec): boolean {
  return ['child', 'recents', 'reimport'].includes(spec.sync.kind) || spec.deletes.some((d) => d.kind === 'id-scan') || spec.changelog !== undefined;
}

export interface SourceOptions {
  readonly historyRebuild: HistoryRebuild;
  /** False: every pass reads its list (no Recents change check first). */
  readonly recentsGate?: boolean;
  /** Set when a webhook asked for the next pass (the table runtime's): it skips the Recents check. */
  readonly changeHints?: ChangeHints;
  /** Ids delete webhooks named (the table runtime's): confirmed and deleted without waiting for the id scan. */
  readonly deleteSuspects?: DeleteSuspects;
}

/**
 * The source of one table, chosen by its declared sync mode, with periodic id scans where declared, and
 * history mode (every version to the history table, missed ones rebuilt) for tables that have one.
 */
export function sourceFor(ctx: EmitContext, client: PipedriveClient, start: TableOffset, opts: SourceOptions = { historyRebuild: 'off' }): TableSource {
  const { spec } = ctx;
  let source: TableSource;
  switch (spec.sync.kind) {
    case 'updated-since':
      source = new UpdatedSinceSource(ctx, client, start);
      break;
    case 'sorted-desc':
      source = new SortedDescSource(ctx, client, start);
      break;
    case 'recents':
      source = new RecentsSource(ctx, client, start);
      break;
    case 'reimport':
      source = new ReimportSource(ctx, client, start);
      break;
    case 'child':
      throw new Error(`${spec.name} is read with its parent ${spec.sync.parent}; it has no source of its own`);
    case 'history':
    case 'changelog':
      throw new Error(`${spec.name} is fed by the source of ${spec.sync.of}`);
  }
  // One shared Recents call tells whether the table changed at all since its last pass.
  const item = spec.sync.kind === 'recents' ? spec.sync.item : spec.recentsItem;
  if (item !== undefined && opts.recentsGate !== false) source = new RecentsGate(source, ctx, client, item, start, opts.changeHints);
  if (spec.sync.kind === 'updated-since' && spec.sync.archived) source = new ArchivedSource(source, ctx, client, start);
  const scan = spec.deletes.find((d) => d.kind === 'id-scan');
  if (scan && scan.kind === 'id-scan') {
    source = new IdScanSource(source, ctx, client, scan, start);
    if (scan.getOne && opts.deleteSuspects) source = new HintedDeleteSource(source, ctx, client, scan.getOne, opts.deleteSuspects, start);
  }
  return spec.history ? new HistorySource(source, ctx, client, opts.historyRebuild, start) : source;
}
