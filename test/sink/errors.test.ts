import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckDbError, isRetriablePostgres, postgresError } from '../../src/sink/destinations/errors.ts';
import { RegistryError, SinkSchemas } from '../../src/sink/schemas.ts';

const sqlError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('PostgreSQL failures', () => {
  it('connection exceptions, shutdowns, insufficient resources, serialization failures and deadlocks are retriable', () => {
    for (const code of ['08000', '08001', '08003', '08006', '57P01', '57P02', '57P03', '53000', '53100', '53200', '53300', '40001', '40P01']) {
      expect(isRetriablePostgres(sqlError(code)), code).toBe(true);
    }
  });

  it('every other SQLSTATE is fatal', () => {
    for (const code of ['28P01', '28000', '3D000', '42P01', '42501', '23505', '22P02', '40002', '57014', 'XX000']) {
      expect(isRetriablePostgres(sqlError(code)), code).toBe(false);
    }
  });

  it('socket errors and node-postgres lost-connection messages are retriable', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) expect(isRetriablePostgres(sqlError(code)), code).toBe(true);
    expect(isRetriablePostgres(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetriablePostgres(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    // Node's happy-eyeballs connect reports one error per address family in an AggregateError.
    expect(isRetriablePostgres(Object.assign(new AggregateError([sqlError('ECONNREFUSED'), sqlError('ECONNREFUSED')]), {}))).toBe(true);
    expect(isRetriablePostgres(new Error('syntax error at or near "x"'))).toBe(false);
  });

  it('messages name the database, never its password, and say what to do', () => {
    const e = postgresError(sqlError('28P01', 'password authentication failed for user "sink"'), 'postgres://sink:***@db:5432/x (schema public)', 'connecting');
    expect(e.retriable).toBe(false);
    expect(e.message).toContain('postgres://sink:***@db:5432/x');
    expect(e.message).toContain('SQLSTATE 28P01');
    expect(e.message).toContain('check the user and password in DATABASE_URL');
    expect(postgresError(sqlError('57P01', 'terminating connection due to administrator command'), 'db', 'applying').retriable).toBe(true);
  });
});

describe('DuckDB failures', () => {
  it('a file another process holds: fatal, saying DuckDB allows one writing process per file', () => {
    const e = duckDbError(new Error('IO Error: Could not set lock on file "/x/sink.duckdb": Conflicting lock is held in /usr/bin/node (PID 42).'), '/x/sink.duckdb', 'opening the file');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/one writing process per file/);
    expect(e.message).toContain('/x/sink.duckdb');
  });

  it('conflicts and a full disk are retriable; anything else is fatal', () => {
    expect(duckDbError(new Error('TransactionContext Error: Catalog write-write conflict on alter with "deal"'), 'f', 'x').retriable).toBe(true);
    expect(duckDbError(new Error('IO Error: Could not write file "f.wal": No space left on device'), 'f', 'x').retriable).toBe(true);
    expect(duckDbError(new Error('Binder Error: column "x" does not exist'), 'f', 'x').retriable).toBe(false);
  });
});

describe('schema registry failures', () => {
  let server: Server;
  let base = '';
  let answer: (path: string) => { status: number; body?: unknown } = () => ({ status: 200, body: [] });
  beforeAll(async () => {
    server = createServer((req, res) => {
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body ?? { message: 'x' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  };
  const record = (id: number) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), Buffer.from([2])]);

  it('a URL without the Confluent API (Apicurio without /apis/ccompat/v7): fatal, suggesting the path', async () => {
    answer = () => ({ status: 404 });
    const e = await failure(new SinkSchemas(base).check());
    expect(e.retriable).toBe(false);
    expect(e.message).toContain(`${base}/apis/ccompat/v7`);
  });

  it('401/403: fatal, naming the registry and the status', async () => {
    for (const status of [401, 403]) {
      answer = () => ({ status });
      const e = await failure(new SinkSchemas(base).check());
      expect(e.retriable).toBe(false);
      expect(e.message).toContain(base);
      expect(e.message).toContain(`HTTP ${status}`);
    }
  });

  it('a schema id the registry does not have: fatal, saying so', async () => {
    answer = () => ({ status: 404, body: { error_code: 40403, message: 'Schema 7 not found.' } });
    const e = await failure(new SinkSchemas(base).writerOf(record(7)));
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/has no schema 7/);
  });

  it('5xx and no answer at all are retriable', async () => {
    answer = () => ({ status: 503 });
    expect((await failure(new SinkSchemas(base).writerOf(record(8)))).retriable).toBe(true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await failure(new SinkSchemas(`http://127.0.0.1:${port}`).check());
    expect(e.retriable).toBe(true);
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it('a writer schema is read once and keeps its attributes', async () => {
    let reads = 0;
    const schema = { type: 'record', name: 'V', 'pipedrive.cdc.kind': 'history', fields: [{ name: 'n', type: { type: 'long', logicalType: 'timestamp-millis' } }] };
    answer = () => (reads++, { status: 200, body: { schema: JSON.stringify(schema) } });
    const s = new SinkSchemas(base);
    const w = await s.writerOf(record(9));
    await s.writerOf(record(9));
    expect(reads).toBe(1);
    expect(w.schema['pipedrive.cdc.kind']).toBe('history');
    expect(w.type.fromBuffer(Buffer.from([2]))).toEqual({ n: 1 });
  });
});
