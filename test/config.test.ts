import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadProducerConfig, loadSinkConfig } from '../src/config.ts';

const base = { KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081', PIPEDRIVE_API_TOKEN: 'secret-token-123' };

describe('config', () => {
  it('reads defaults and never shows the token', () => {
    const c = loadProducerConfig(base);
    expect(c.tables).toContain('deal');
    expect(c.pipedriveBaseUrl).toBe('https://api.pipedrive.com');
    expect(describeConfig(c)).not.toContain('secret-token-123');
  });

  it.each([
    [{ KAFKA_BROKERS: '' }, /KAFKA_BROKERS: required/],
    [{ KAFKA_BROKERS: 'no-port' }, /KAFKA_BROKERS: "no-port" is not host:port/],
    [{ SCHEMA_REGISTRY_URL: 'ftp://x' }, /SCHEMA_REGISTRY_URL: must be http/],
    [{ PIPEDRIVE_API_TOKEN: '' }, /PIPEDRIVE_API_TOKEN: required/],
    [{ TABLES: 'deal,unicorn' }, /TABLES: unknown table "unicorn"/],
    [{ POLL_INTERVAL_MS: 'soon' }, /POLL_INTERVAL_MS: "soon" must be a whole number/],
  ])('rejects %o naming the variable', (bad, message) => {
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(ConfigError);
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(message);
  });

  it('sink: postgres needs DATABASE_URL, and its password is redacted', () => {
    expect(() => loadSinkConfig({ ...base, SINK_DESTINATION: 'postgres' })).toThrow(/DATABASE_URL: required/);
    expect(() => loadSinkConfig({ ...base, SINK_DESTINATION: 'oracle' })).toThrow(/SINK_DESTINATION/);
    const c = loadSinkConfig({ ...base, SINK_DESTINATION: 'postgres', DATABASE_URL: 'postgres://u:pw@h:5432/d' });
    expect(describeConfig(c)).not.toContain(':pw@');
  });
});
