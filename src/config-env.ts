/**
 * Reading settings from the environment: the error every loader throws, the two ways a value can come
 * from a file — a secret in `KEY` or in the file `KEY_FILE` names, and a file a setting names (a CA or a
 * key) read once at start, so an unreadable one stops the process before it connects to anything — and
 * the parsers of single values (numbers, durations, shares, ports, URLs, lists).
 */
import { readFileSync } from 'node:fs';

/** A bad setting: the message names the variable and says what to set. The process exits with 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A secret from `KEY`, or from the file `KEY_FILE` names (Docker/Kubernetes secrets; one trailing newline
 * dropped). Undefined when neither is set; both set is an error (which one would win is a guess).
 */
export function secret(env: Env, key: string): string | undefined {
  const direct = env[key];
  const file = env[`${key}_FILE`];
  if (direct && file) throw new ConfigError(`${key} and ${key}_FILE: both set; set only one`);
  if (!file) return direct || undefined;
  const value = readSettingFile(`${key}_FILE`, file).replace(/\r?\n$/, '');
  if (!value) throw new ConfigError(`${key}_FILE: ${file} is empty`);
  return value;
}

/** The text of the file a setting names; a missing or unreadable one is a ConfigError naming both. */
export function readSettingFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

// The value parsers every loader uses: a bad value is a ConfigError naming the variable and what it takes.

export function bool(env: Env, key: string, fallback: boolean): boolean {
  const v = env[key];
  if (v === undefined || v === '') return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`${key}: "${v}" must be true or false`);
}

export function oneOf<const T extends readonly string[]>(env: Env, key: string, allowed: T, fallback: T[number]): T[number] {
  const v = env[key];
  if (v === undefined || v === '') return fallback;
  if (!allowed.includes(v)) throw new ConfigError(`${key}: "${v}" is not one of ${allowed.join(', ')}`);
  return v as T[number];
}

export function url(env: Env, key: string, fallback?: string): string {
  const v = env[key] || fallback;
  if (!v) throw new ConfigError(`${key}: required (a URL such as http://localhost:8081)`);
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(`${key}: "${v}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${key}: must be http(s), got ${parsed.protocol}`);
  return v.replace(/\/+$/, '');
}

export function int(env: Env, key: string, fallback: number, min: number, max: number, what = 'a whole number'): number {
  const v = env[key];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${key}: "${v}" must be ${what} from ${min} to ${max}`);
  }
  return n;
}

/** Pipedrive's timestamps have whole seconds: a window in milliseconds must be too. */
export function wholeSeconds(key: string, ms: number): number {
  if (ms % 1000 !== 0) throw new ConfigError(`${key}: "${ms}" must be whole seconds (a multiple of 1000)`);
  return ms;
}

/** A fraction from 0 to 1. */
export function share(env: Env, key: string, fallback: number): number {
  const v = env[key];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`${key}: "${v}" must be a share from 0 to 1 (e.g. 0.2 for 20 %)`);
  return n;
}

export function optionalInt(env: Env, key: string, min: number, max: number, what: string): number | undefined {
  const v = env[key];
  return v === undefined || v === '' ? undefined : int(env, key, 0, min, max, what);
}

/** A TCP port to listen on; 0 picks a free one. */
export function port(env: Env, key: string, fallback: number): number {
  return int(env, key, fallback, 0, 65_535, 'a port number');
}

/** Node's timers hold at most 2^31 − 1 ms (about 24.8 days); a longer delay would fire at once, in a busy loop. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in milliseconds. */
export function millis(env: Env, key: string, fallback: number, min: number): number {
  return int(env, key, fallback, min, MAX_TIMER_MS, 'a number of milliseconds (at most about 24.8 days)');
}

export function list(env: Env, key: string): string[] | undefined {
  const v = env[key];
  if (v === undefined || v.trim() === '') return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
