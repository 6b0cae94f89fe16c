// Selection logic of src/infra/services.ts, without starting anything: the Docker probe is a stub.
import { describe, expect, it, vi } from 'vitest';
import { selectModes, type ServiceName } from '../../src/infra/services.ts';

const ALL: ServiceName[] = ['kafka', 'registry', 'postgres', 'prometheus'];
const probe = (answer: boolean) => vi.fn(async () => answer);

describe('selectModes', () => {
  it('uses each env var as an external service, independently of the others', async () => {
    const docker = probe(false);
    const env = { KAFKA_BROKERS: 'b1:9092,b2:9092', DATABASE_URL: 'postgres://x@h/db' };
    expect(await selectModes(ALL, env, docker)).toEqual({ kafka: 'external', registry: 'local', postgres: 'external', prometheus: 'local' });
  });

  it('env vars win even over PIPEDRIVE_CDC_INFRA=docker, and then Docker is never probed', async () => {
    const docker = probe(true);
    const env = { PIPEDRIVE_CDC_INFRA: 'docker', KAFKA_BROKERS: 'b:1', SCHEMA_REGISTRY_URL: 'http://r/apis/ccompat/v7' };
    expect(await selectModes(['kafka', 'registry'], env, docker)).toEqual({ kafka: 'external', registry: 'external' });
    expect(docker).not.toHaveBeenCalled();
  });

  it('ignores env vars that are empty or blank', async () => {
    expect(await selectModes(['kafka'], { KAFKA_BROKERS: '  ' }, probe(false))).toEqual({ kafka: 'local' });
  });

  it('PIPEDRIVE_CDC_INFRA=local skips the Docker probe even when a daemon would answer', async () => {
    const docker = probe(true);
    expect(await selectModes(ALL, { PIPEDRIVE_CDC_INFRA: 'local' }, docker)).toEqual({ kafka: 'local', registry: 'local', postgres: 'local', prometheus: 'local' });
    expect(docker).not.toHaveBeenCalled();
  });

  it('unset: Docker when a daemon answers, local processes otherwise; probes once', async () => {
    const yes = probe(true);
    expect(await selectModes(['kafka', 'registry'], {}, yes)).toEqual({ kafka: 'docker', registry: 'docker' });
    expect(yes).toHaveBeenCalledTimes(1);
    expect(await selectModes(['kafka', 'registry'], {}, probe(false))).toEqual({ kafka: 'local', registry: 'local' });
  });

  it('PIPEDRIVE_CDC_INFRA=docker fails clearly when no daemon answers', async () => {
    await expect(selectModes(['postgres'], { PIPEDRIVE_CDC_INFRA: 'docker' }, probe(false))).rejects.toThrow(/no Docker daemon answered.*postgres/);
  });

  it('rejects an unknown PIPEDRIVE_CDC_INFRA value', async () => {
    await expect(selectModes(['kafka'], { PIPEDRIVE_CDC_INFRA: 'podman' }, probe(true))).rejects.toThrow(/must be local, docker or auto/);
  });
});
