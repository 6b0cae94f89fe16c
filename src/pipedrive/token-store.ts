/**
 * The OAuth tokens on disk: one JSON file, readable by its owner only (0600, in a 0700 directory when
 * we create it), replaced atomically (write a temp file, fsync, rename, fsync the directory) so a crash
 * leaves the old tokens or the new ones, never half a file. With refresh-token rotation the file is the
 * only copy of the one refresh token that still works: a rotated token is stored before it is used.
 * Errors name the file and what to do, never its contents.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PipedriveAuthError } from './errors.ts';

export interface StoredTokens {
  /** The app the tokens belong to: a file of another app is refused with a clear message. */
  readonly clientId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the access token expires, epoch ms by this machine's clock (obtained + expires_in). */
  readonly expiresAtMs: number;
  /** When it was obtained: the lifetime (expiresAtMs − obtainedAtMs) sets how early to refresh. */
  readonly obtainedAtMs: number;
  /** The company's API base URL (`api_domain`), e.g. https://acme.pipedrive.com. */
  readonly apiDomain: string;
  readonly scope: string | undefined;
}

const VERSION = 1;
export const TOKEN_FILE_SETTING = 'PIPEDRIVE_OAUTH_TOKEN_FILE';
export const REAUTHORIZE = 'run `pipedrive-cdc auth` to authorize again';

/** `$XDG_CONFIG_HOME/pipedrive-cdc/oauth-tokens.json`, else `~/.config/pipedrive-cdc/oauth-tokens.json`. */
export function defaultTokenFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'pipedrive-cdc', 'oauth-tokens.json');
}

/**
 * Where OAuthAuth keeps the tokens: this file, or (connectors created through the admin API) the connector
 * definitions topic (connector-store.ts). `write` is durable once it returned or its promise resolved.
 */
export interface TokenStorage {
  /** Where the tokens are, for messages (a file path, or the topic and connector). */
  readonly path: string;
  read(): StoredTokens | undefined;
  write(tokens: StoredTokens): void | Promise<void>;
  readableByOthers(): boolean;
  /** How to authorize again, when not `pipedrive-cdc auth`. */
  readonly reauthorize?: string;
}

export class TokenStore implements TokenStorage {
  constructor(readonly path: string) {}

  /** The stored tokens, or undefined when there is no file yet. */
  read(): StoredTokens | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new PipedriveAuthError(`${TOKEN_FILE_SETTING} ${this.path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its owner and permissions`);
    }
    return parseStored(text, this.path);
  }

  /** Group or others may read the file: tokens in it should be treated as leaked. */
  readableByOthers(): boolean {
    try {
      return (statSync(this.path).mode & 0o077) !== 0;
    } catch {
      return false;
    }
  }

  /** Replaces the file atomically and durably; throws (naming the file) when that is impossible. */
  write(tokens: StoredTokens): void {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
    const text = `${JSON.stringify({ version: VERSION, ...tokens }, null, 2)}\n`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      syncDir(dir);
    } catch (err) {
      rmSync(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new PipedriveAuthError(`${TOKEN_FILE_SETTING} ${this.path}: cannot store the OAuth tokens (${code}); make the file's directory writable for this user, or point ${TOKEN_FILE_SETTING} elsewhere`);
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
    syncDir(dirname(this.path));
  }
}

/** A rename is durable once the directory entry is on disk. Some file systems refuse fsync on a directory. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* best effort: not every platform can fsync a directory */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseStored(text: string, path: string): StoredTokens {
  const broken = (why: string) =>
    new PipedriveAuthError(`${TOKEN_FILE_SETTING} ${path}: not a token file written by \`pipedrive-cdc auth\` (${why}); ${REAUTHORIZE}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw broken('not JSON');
  }
  if (typeof v !== 'object' || v === null) throw broken('not an object');
  const o = v as Record<string, unknown>;
  if (o.version !== VERSION) throw broken(`version ${JSON.stringify(o.version)}, expected ${VERSION}`);
  for (const k of ['clientId', 'accessToken', 'refreshToken', 'apiDomain'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw broken(`"${k}" missing`);
  }
  for (const k of ['expiresAtMs', 'obtainedAtMs'] as const) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw broken(`"${k}" is not a number`);
  }
  if (o.scope !== undefined && typeof o.scope !== 'string') throw broken('"scope" is not a string');
  return {
    clientId: o.clientId as string,
    accessToken: o.accessToken as string,
    refreshToken: o.refreshToken as string,
    expiresAtMs: o.expiresAtMs as number,
    obtainedAtMs: o.obtainedAtMs as number,
    apiDomain: o.apiDomain as string,
    scope: o.scope as string | undefined,
  };
}
