import type { ChangeBatch } from '../../../src/capture/change.ts';
import type { EmitContext } from '../../../src/capture/emit.ts';
import type { TableOffset } from '../../../src/capture/offset.ts';
import { UpdatedSinceSource } from '../../../src/capture/updated-since-source.ts';
import type { PipedriveClient } from '../../../src/pipedrive/client.ts';

/**
 * Polls an updated_since source until nothing is new, committing every batch; `between` runs after each
 * batch (to change the account mid-pass), `restartEachBatch` starts a fresh source at each committed offset
 * (a restart after every transaction).
 */
export async function drainUpdatedSince(
  ctx: EmitContext,
  client: PipedriveClient,
  offset: TableOffset,
  opts: { between?: (n: number) => void; restartEachBatch?: boolean } = {},
): Promise<{ batches: ChangeBatch[]; offset: TableOffset }> {
  const batches: ChangeBatch[] = [];
  let source = new UpdatedSinceSource(ctx, client, offset);
  for (;;) {
    const b = await source.poll();
    if (!b) return { batches, offset };
    batches.push(b);
    source.committed(b);
    offset = b.offset;
    opts.between?.(batches.length);
    if (opts.restartEachBatch) source = new UpdatedSinceSource(ctx, client, offset);
  }
}
