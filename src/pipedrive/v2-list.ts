import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from './client.ts';
import { PipedriveResponseError } from './errors.ts';
import { parseRow, type Row } from './row.ts';

export interface V2Page {
  readonly rows: readonly Row[];
  /** Opaque cursor of the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** The cheapest page size the v2 API allows. */
export const V2_MAX_LIMIT = 500;

/**
 * One page of a v2 cursor-paginated list (`{success, data[], additional_data.next_cursor}`), rows parsed.
 * The envelope is checked here; a malformed page throws before any row leaves this module.
 */
export async function fetchV2Page(
  client: PipedriveClient,
  spec: TableSpec,
  query: Record<string, string>,
  signal?: AbortSignal,
): Promise<V2Page> {
  const res = await client.getJson(spec.endpoint, { ...spec.listParams, limit: String(V2_MAX_LIMIT), ...query }, spec.endpoint, signal);
  const body = res.body as { success?: unknown; data?: unknown; additional_data?: { next_cursor?: unknown } | null };
  if (typeof body !== 'object' || body === null || body.success !== true) {
    throw new PipedriveResponseError(`${spec.endpoint}: expected {"success":true,...}, got ${JSON.stringify(body).slice(0, 120)}`);
  }
  const data = body.data ?? [];
  if (!Array.isArray(data)) throw new PipedriveResponseError(`${spec.endpoint}: "data" is not an array`);
  const next = body.additional_data?.next_cursor ?? null;
  if (next !== null && typeof next !== 'string') {
    throw new PipedriveResponseError(`${spec.endpoint}: additional_data.next_cursor is not a string`);
  }
  return { rows: data.map((raw) => parseRow(spec, raw)), nextCursor: next };
}
