import { describe, expect, it } from 'vitest';
import { duckDbError, isRetriablePostgres, postgresError } from '../../src/sink/destinations/errors.ts';

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
