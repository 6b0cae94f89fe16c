/**
 * Secrets at rest (the API tokens, client secrets and OAuth tokens of connectors created through the
 * admin API, kept in a Kafka topic): AES-256-GCM with a key from CONNECTOR_SECRETS_KEY(_FILE). Each sealed
 * value names the key it was sealed with (a digest prefix, not the key), so a changed key is reported as
 * such instead of as corruption, and is bound to its place (`context`, e.g. `acme/apiToken`) as
 * additional authenticated data: a ciphertext copied onto another connector or field does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError, secret, type Env } from './config-env.ts';

export const SECRETS_KEY_SETTING = 'CONNECTOR_SECRETS_KEY';
const FORMAT = 'v1';

/** A sealed value that does not open: another key, a changed context, or damaged bytes. */
export class SealedSecretError extends Error {
  override name = 'SealedSecretError';
}

export class SecretsBox {
  /** First 8 hex digits of SHA-256(key): which key sealed a value, without revealing it. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new ConfigError(`${SECRETS_KEY_SETTING}: must be 32 bytes`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [FORMAT, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const [format, keyId, iv, tag, body, ...rest] = sealed.split('.');
    if (format !== FORMAT || keyId === undefined || iv === undefined || tag === undefined || body === undefined || rest.length > 0) {
      throw new SealedSecretError(`${context}: not a sealed secret of this version`);
    }
    if (keyId !== this.keyId) {
      throw new SealedSecretError(`${context}: sealed with another ${SECRETS_KEY_SETTING} (key id ${keyId}, this process has ${this.keyId}); start with the key it was created with`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(`${context}: the sealed secret does not authenticate (damaged, or moved from another connector or field)`);
    }
  }
}

/**
 * CONNECTOR_SECRETS_KEY or CONNECTOR_SECRETS_KEY_FILE: 32 random bytes as 64 hex digits or base64
 * (`openssl rand -base64 32`). Undefined when unset — connectors can then not be created through the API.
 */
export function loadSecretsBox(env: Env = process.env): SecretsBox | undefined {
  const text = secret(env, SECRETS_KEY_SETTING)?.trim();
  if (text === undefined) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== 32) {
    throw new ConfigError(`${SECRETS_KEY_SETTING}: must be 32 random bytes written as 64 hex digits or in base64 (generate one with: openssl rand -base64 32)`);
  }
  return new SecretsBox(key);
}
