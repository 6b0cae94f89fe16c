import type { PipedriveClient } from './client.ts';
import { PipedriveResponseError } from './errors.ts';
import { formatV1 } from './row.ts';

/** One entry of `GET /v1/recents`: the item type, its id and the object (an array for users, as observed). */
export interface RecentsEntry {
  readonly item: string;
  readonly id: unknown;
  readonly data: unknown;
}

export interface RecentsPage {
  readonly entries: readonly RecentsEntry[];
  readonly nextStart: number | null;
}

/** Recents' documented window: `since_timestamp` may not be older than this. */
export const RECENTS_WINDOW_MS = 30 * 24 * 3600 * 1000;
export const RECENTS_LIMIT = 500;

/** A page of v1 Recents (20 tokens) for one item type since a time (inclusive, whole seconds). */
export async function fetchRecentsPage(client: PipedriveClient, item: string, sinceMs: number, start: number, signal?: AbortSignal): Promise<RecentsPage> {
  const res = await client.getJson(
    '/v1/recents',
    { since_timestamp: formatV1(sinceMs), items: item, start: String(start), limit: String(RECENTS_LIMIT) },
    '/v1/recents',
    signal,
  );
  const body = res.body as { success?: unknown; data?: unknown; additional_data?: { pagination?: { more_items_in_collection?: unknown; next_start?: unknown } } };
  if (typeof body !== 'object' || body === null || body.success !== true) {
    throw new PipedriveResponseError(`/v1/recents: expected {"success":true,...}, got ${JSON.stringify(body)?.slice(0, 120)}`);
  }
  const data = body.data ?? [];
  if (!Array.isArray(data)) throw new PipedriveResponseError('/v1/recents: "data" is not an array');
  const entries = data.map((e: unknown) => {
    if (typeof e !== 'object' || e === null || typeof (e as RecentsEntry).item !== 'string') {
      throw new PipedriveResponseError(`/v1/recents: malformed entry ${JSON.stringify(e)?.slice(0, 80)}`);
    }
    return e as RecentsEntry;
  });
  const p = body.additional_data?.pagination;
  const more = p?.more_items_in_collection === true;
  const nextStart = more ? (typeof p?.next_start === 'number' ? p.next_start : start + entries.length) : null;
  return { entries, nextStart };
}

/** What one Recents call says about several item types since a time. */
export interface RecentsChanges {
  /** The `since_timestamp` asked for (ms). */
  readonly sinceMs: number;
  /** The API's time when the answer was given (ms): changes up to then are covered. */
  readonly asOfMs: number;
  /** Item types with at least one entry; every type counts as changed when the page was full. */
  readonly changed: ReadonlySet<string>;
  readonly all: boolean;
}

/**
 * One Recents call (20 tokens) for several item types: which of them changed since a time. Only a "nothing
 * changed" answer is used (the lists stay the truth): a full page is taken as "everything changed".
 */
export async function fetchRecentsChanges(client: PipedriveClient, items: readonly string[], sinceMs: number, signal?: AbortSignal): Promise<RecentsChanges> {
  const res = await client.getJson(
    '/v1/recents',
    { since_timestamp: formatV1(sinceMs), items: items.join(','), start: '0', limit: String(RECENTS_LIMIT) },
    '/v1/recents',
    signal,
  );
  const body = res.body as { success?: unknown; data?: unknown; additional_data?: { pagination?: { more_items_in_collection?: unknown } } };
  if (typeof body !== 'object' || body === null || body.success !== true) {
    throw new PipedriveResponseError(`/v1/recents: expected {"success":true,...}, got ${JSON.stringify(body)?.slice(0, 120)}`);
  }
  const data = body.data ?? [];
  if (!Array.isArray(data)) throw new PipedriveResponseError('/v1/recents: "data" is not an array');
  const changed = new Set<string>();
  for (const e of data) if (typeof e === 'object' && e !== null && typeof (e as RecentsEntry).item === 'string') changed.add((e as RecentsEntry).item);
  const all = body.additional_data?.pagination?.more_items_in_collection === true;
  return { sinceMs, asOfMs: client.serverNowMs(), changed, all };
}
