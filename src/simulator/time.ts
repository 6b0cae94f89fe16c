/** Timestamp formatting/parsing shared by stores and routes. */

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const V1_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Epoch seconds → `YYYY-MM-DDTHH:MM:SSZ` (the v2 format, whole seconds). */
export function formatV2(sec: number): string {
  // join() builds one flat string; replace() or slice+concat would keep a cons/sliced chain alive
  // (~100 bytes instead of ~40 per stored time: hundreds of MB across a million stored deals).
  return [new Date(sec * 1000).toISOString().slice(0, 19), 'Z'].join('');
}

/** Epoch seconds → `YYYY-MM-DD` (UTC). */
export function formatDate(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 10);
}

/** Strict RFC 3339 → epoch ms, or null when malformed. */
export function parseRfc3339(s: string): number | null {
  if (!RFC3339.test(s)) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

/** A time a client may send in a body: RFC 3339 or v1 `YYYY-MM-DD HH:MM:SS` (UTC) → epoch seconds. */
export function parseBodyTime(s: string): number | null {
  const ms = V1_TIME.test(s) ? Date.parse(`${s.replace(' ', 'T')}Z`) : parseRfc3339(s);
  return ms === null || Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

export function isDateOnly(s: string): boolean {
  return DATE_ONLY.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
}
