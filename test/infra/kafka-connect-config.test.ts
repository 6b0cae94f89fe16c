import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apicurioV2Url, connectWorkerProperties, debeziumJdbcSinkConfig, jdbcConnection, propertiesText } from '../../src/infra/kafka-connect.ts';
import { repoRoot } from '../../src/infra/paths.ts';

/** docs/CONNECT.md shows the worker and connector configuration the Kafka Connect test uses: verbatim, checked here. */
describe('Kafka Connect configuration (src/infra/kafka-connect.ts) and docs/CONNECT.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'CONNECT.md'), 'utf8');
  const block = (after: string, lang: string) => {
    const at = doc.indexOf(after);
    expect(at, `docs/CONNECT.md has "${after}"`).toBeGreaterThanOrEqual(0);
    const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(at));
    expect(m, `a ${lang} block after "${after}"`).toBeTruthy();
    return m![1]!;
  };

  it('the worker properties in the docs are the ones the test writes', () => {
    const props = connectWorkerProperties({ brokers: ['localhost:9092'], registryUrl: 'http://localhost:8080/apis/ccompat/v7', pluginPath: '/opt/connect/plugins', offsetsFile: '/var/lib/connect/offsets', restPort: 8083 });
    const documented = block('### Worker', 'properties').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(documented.sort()).toEqual(propertiesText(props).trim().split('\n').sort());
  });

  it('the connector configuration in the docs is the one the test creates', () => {
    const { name, ...config } = debeziumJdbcSinkConfig({ name: 'pipedrive-jdbc', topicPrefix: 'pipedrive', tables: ['deal', 'person', 'organization', 'deal_history'], databaseUrl: 'postgres://connect:CHANGE_ME@localhost:5432/analytics', schema: 'pipedrive_connect' });
    expect(doc).toContain(`PUT /connectors/${name}/config`);
    expect(JSON.parse(block('### Connector', 'json'))).toEqual(config);
  });

  it('derives the converter URL and the JDBC connection from the project settings', () => {
    expect(apicurioV2Url('http://127.0.0.1:8080/apis/ccompat/v7/')).toBe('http://127.0.0.1:8080/apis/registry/v2');
    expect(() => apicurioV2Url('http://127.0.0.1:8081')).toThrow(/must end with \/apis\/ccompat\/v7/);
    expect(jdbcConnection('postgres://u%40x:p%2Fw@db:5432/analytics')).toEqual({ url: 'jdbc:postgresql://db:5432/analytics', username: 'u@x', password: 'p/w' });
  });
});
