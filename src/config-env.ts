/**
 * Reading settings from the environment: the error every loader throws, and the two ways a value can come
 * from a file — a secret in `KEY` or in the file `KEY_FILE` names, and a file a setting names (a CA or a
 * key) read once at start, so an unreadable one stops the process before it connects to anything.
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
