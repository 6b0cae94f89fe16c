/**
 * SCHEMA_REGISTRY_USERNAME / _PASSWORD (HTTP basic auth: Confluent Cloud's API key and secret, or a
 * registry behind an authenticating proxy) and SCHEMA_REGISTRY_CA_FILE (a private CA for an https
 * registry), checked against SCHEMA_REGISTRY_URL.
 */
import { ConfigError, secret, type Env } from './config-env.ts';
import { certificates } from './config-kafka.ts';
import type { RegistryAuth } from './registry/http.ts';

export function loadRegistryAuth(env: Env, url: string): RegistryAuth {
  const parsed = new URL(url);
  let username = secret(env, 'SCHEMA_REGISTRY_USERNAME');
  let password = secret(env, 'SCHEMA_REGISTRY_PASSWORD');
  // Credentials in the URL work too (Confluent clients' basic.auth.credentials.source=URL); the settings are clearer.
  if (parsed.username || parsed.password) {
    if (username !== undefined || password !== undefined) {
      throw new ConfigError('SCHEMA_REGISTRY_URL: holds credentials (user:password@) and SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD are set too; keep only the settings');
    }
    username = decodeURIComponent(parsed.username);
    password = decodeURIComponent(parsed.password);
  }
  if (username !== undefined && password === undefined) throw new ConfigError('SCHEMA_REGISTRY_PASSWORD: required with SCHEMA_REGISTRY_USERNAME (or SCHEMA_REGISTRY_PASSWORD_FILE naming a file that holds it)');
  if (password !== undefined && username === undefined) throw new ConfigError('SCHEMA_REGISTRY_USERNAME: required with SCHEMA_REGISTRY_PASSWORD (Confluent Cloud: the API key; the password is its secret)');
  // RFC 7617: the user-id of basic auth ends at the first colon.
  if (username?.includes(':')) throw new ConfigError('SCHEMA_REGISTRY_USERNAME: must not contain ":" (HTTP basic auth cannot carry it)');
  const caFile = env['SCHEMA_REGISTRY_CA_FILE'] || undefined;
  if (caFile && parsed.protocol !== 'https:') throw new ConfigError(`SCHEMA_REGISTRY_CA_FILE: set, but SCHEMA_REGISTRY_URL is ${parsed.protocol}// (no TLS); use an https:// URL, or unset it`);
  const ca = caFile ? certificates('SCHEMA_REGISTRY_CA_FILE', caFile).file : undefined;
  return { ...(username !== undefined ? { username, password } : {}), ...(ca ? { ca } : {}) };
}

/** The settings without the password, for the `starting` line. */
export function describeRegistryAuth(a: RegistryAuth): Record<string, unknown> {
  return { ...(a.username !== undefined ? { username: a.username } : {}), ...(a.ca ? { caFile: a.ca.path } : {}) };
}
