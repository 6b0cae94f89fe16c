import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-env.ts';
import { loadSecretsBox, SealedSecretError, SecretsBox } from '../src/secrets-box.ts';

describe('secrets box (AES-256-GCM, CONNECTOR_SECRETS_KEY)', () => {
  const key = randomBytes(32);
  const box = new SecretsBox(key);

  it('seals so that the clear text is not in the sealed form, and opens it again', () => {
    const sealed = box.seal('the-api-token-1234', 'acme/apiToken');
    expect(sealed).not.toContain('the-api-token-1234');
    expect(sealed.startsWith(`v1.${box.keyId}.`)).toBe(true);
    expect(box.open(sealed, 'acme/apiToken')).toBe('the-api-token-1234');
    // A fresh IV every time: the same secret never seals to the same text.
    expect(box.seal('the-api-token-1234', 'acme/apiToken')).not.toBe(sealed);
  });

  it('refuses another context (connector or field), damaged bytes and another key, saying which', () => {
    const sealed = box.seal('s3cret-value', 'acme/clientSecret');
    expect(() => box.open(sealed, 'other/clientSecret')).toThrow(/does not authenticate/);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'), 'acme/clientSecret')).toThrow(SealedSecretError);
    const other = new SecretsBox(randomBytes(32));
    expect(() => other.open(sealed, 'acme/clientSecret')).toThrow(/sealed with another CONNECTOR_SECRETS_KEY \(key id /);
    expect(() => box.open('plain', 'acme/clientSecret')).toThrow(/not a sealed secret/);
  });

  it('reads the key as 64 hex digits or base64, refuses anything else with how to make one, and is off when unset', () => {
    expect(loadSecretsBox({})).toBeUndefined();
    expect(loadSecretsBox({ CONNECTOR_SECRETS_KEY: key.toString('hex') })!.keyId).toBe(box.keyId);
    expect(loadSecretsBox({ CONNECTOR_SECRETS_KEY: key.toString('base64') })!.keyId).toBe(box.keyId);
    for (const bad of ['short', randomBytes(16).toString('hex'), 'x'.repeat(64)]) {
      expect(() => loadSecretsBox({ CONNECTOR_SECRETS_KEY: bad })).toThrow(ConfigError);
      expect(() => loadSecretsBox({ CONNECTOR_SECRETS_KEY: bad })).toThrow(/openssl rand -base64 32/);
    }
  });
});
