import { DEAL_INCLUDE_FIELDS } from '../../../src/catalog/tables/shared.ts';

/**
 * Reads the local Pipedrive over HTTP, the way any API client would: every deal with the optional fields
 * (include_fields) the deal table's columns hold.
 */
export async function listAllDeals(baseUrl: string, token: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ status: 'open,won,lost,deleted', include_fields: DEAL_INCLUDE_FIELDS.join(','), limit: '500', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${baseUrl}/api/v2/deals?${q}`, { headers: { 'x-api-token': token } });
    if (!res.ok) throw new Error(`GET deals: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: Array<Record<string, unknown>>; additional_data: { next_cursor: string | null } };
    out.push(...body.data);
    cursor = body.additional_data.next_cursor;
  } while (cursor);
  return out;
}

export async function api(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'x-api-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { success: boolean; data: Record<string, unknown> };
  if (!res.ok || !json.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}
