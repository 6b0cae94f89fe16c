import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadProducerConfig, loadSinkConfig } from '../src/config.ts';

const base = { KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081', PIPEDRIVE_API_TOKEN: 'secret-token-123' };

describe('config', () => {
  it('reads defaults and never shows the token', () => {
    const c = loadProducerConfig(base);
    expect(c.tables).toContain('deal');
    expect(c.pipedrive.auth).toMatchObject({ kind: 'api-token', baseUrl: 'https://api.pipedrive.com' });
    expect(describeConfig(c)).not.toContain('secret-token-123');
    // The token budget share: 10 % of the daily budget the API tells; no fallback budget.
    expect([c.tokenBudgetShare, c.dailyTokenBudget]).toEqual([0.1, undefined]);
    expect(loadProducerConfig({ ...base, TOKEN_BUDGET_SHARE: '0.25', DAILY_TOKEN_BUDGET: '600000' })).toMatchObject({ tokenBudgetShare: 0.25, dailyTokenBudget: 600_000 });
    expect(loadProducerConfig({ ...base, TOKEN_BUDGET_SHARE: 'off' }).tokenBudgetShare).toBeUndefined();
    // auto (the default): an interval asked for explicitly is kept, unpaced — unless a share is given too.
    expect(loadProducerConfig({ ...base, POLL_INTERVAL_MS: '5000' }).tokenBudgetShare).toBeUndefined();
    expect(loadProducerConfig({ ...base, POLL_INTERVAL_MS: '5000', TOKEN_BUDGET_SHARE: 'auto' }).tokenBudgetShare).toBeUndefined();
    expect(loadProducerConfig({ ...base, TOKEN_BUDGET_SHARE: 'auto' }).tokenBudgetShare).toBe(0.1);
    expect(loadProducerConfig({ ...base, POLL_INTERVAL_MS: '5000', TOKEN_BUDGET_SHARE: '0.2' }).tokenBudgetShare).toBe(0.2);
  });

  it.each([
    [{ KAFKA_BROKERS: '' }, /KAFKA_BROKERS: required/],
    [{ KAFKA_BROKERS: 'no-port' }, /KAFKA_BROKERS: "no-port" is not host:port/],
    [{ SCHEMA_REGISTRY_URL: 'ftp://x' }, /SCHEMA_REGISTRY_URL: must be http/],
    [{ PIPEDRIVE_API_TOKEN: '' }, /PIPEDRIVE_API_TOKEN: required/],
    [{ TABLES: 'deal,unicorn' }, /TABLES: unknown table "unicorn"/],
    [{ POLL_INTERVAL_MS: 'soon' }, /POLL_INTERVAL_MS: "soon" must be a number of milliseconds/],
    // Node's timers overflow past 2^31 − 1 ms into a 1 ms busy loop.
    [{ POLL_INTERVAL_MS: '99999999999' }, /POLL_INTERVAL_MS: "99999999999" must be a number of milliseconds \(at most about 24.8 days\) from 100 to 2147483647/],
    [{ POLL_INTERVAL_MS: '1.5e3' }, /POLL_INTERVAL_MS/],
    [{ METRICS_PORT: '70000' }, /METRICS_PORT: "70000" must be a port number from 0 to 65535/],
    [{ METRICS_PORT: '-1' }, /METRICS_PORT/],
    [{ FAILED_TABLE_RETRY_MS: '10' }, /FAILED_TABLE_RETRY_MS: "10" must be a number of milliseconds/],
    [{ HISTORY_REBUILD: 'sometimes' }, /HISTORY_REBUILD: "sometimes" is not one of all, changes, off/],
    [{ TOKEN_BUDGET_SHARE: '10%' }, /TOKEN_BUDGET_SHARE: "10%" must be a share from 0 to 1 \(e.g. 0.2 for 20 %\)/],
    [{ TOKEN_BUDGET_SHARE: '1.5' }, /TOKEN_BUDGET_SHARE: "1.5" must be a share from 0 to 1/],
    [{ TOKEN_BUDGET_SHARE: '0' }, /TOKEN_BUDGET_SHARE: "0" must be more than 0/],
    [{ DAILY_TOKEN_BUDGET: 'lots' }, /DAILY_TOKEN_BUDGET: "lots" must be a number of tokens from 1 to 1000000000/],
    [{ DAILY_TOKEN_BUDGET: '0' }, /DAILY_TOKEN_BUDGET: "0" must be a number of tokens/],
  ])('rejects %o naming the variable', (bad, message) => {
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(ConfigError);
    expect(() => loadProducerConfig({ ...base, ...bad })).toThrow(message);
  });

  it('sink: postgres needs DATABASE_URL, and its password is redacted', () => {
    expect(() => loadSinkConfig({ ...base, SINK_DESTINATION: 'postgres' })).toThrow(/DATABASE_URL: required/);
    expect(() => loadSinkConfig({ ...base, SINK_DESTINATION: 'oracle' })).toThrow(/SINK_DESTINATION/);
    const c = loadSinkConfig({ ...base, SINK_DESTINATION: 'postgres', DATABASE_URL: 'postgres://u:pw@h:5432/d' });
    expect(describeConfig(c)).not.toContain(':pw@');
    expect(() => loadSinkConfig({ ...base, SINK_METRICS_PORT: '65536' })).toThrow(/SINK_METRICS_PORT: "65536" must be a port number/);
  });
});
