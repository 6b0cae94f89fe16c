/**
 * Deterministic string ids for the v1 entities Pipedrive keys by UUID or hex (leads, lead labels,
 * goals, call logs, permission sets): the same (kind, number) always gives the same id, so seeded
 * accounts and API-created rows are reproducible across runs.
 */
import { mulberry32 } from '../prng.ts';

function hex32(kind: number, n: number): string {
  const next = mulberry32((Math.imul(n, 0x9e3779b1) ^ Math.imul(kind, 0x85ebca6b)) >>> 0);
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
  return s;
}

/** A version-4-shaped UUID. */
export function uuidFor(kind: number, n: number): string {
  const h = hex32(kind, n);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** 32 hex chars (goal ids, call log ids). */
export function hexIdFor(kind: number, n: number): string {
  return hex32(kind, n);
}

/** Kinds keep the id spaces of different entities apart. */
export const ID_KIND = { lead: 1, leadLabel: 2, goal: 3, callLog: 4, permissionSet: 5, report: 6 } as const;
