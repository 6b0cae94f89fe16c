/**
 * What a database failure means for the sink: `retriable` (src/retry.ts waits it out, the connection is
 * re-opened and the batch re-applied from the stored offsets) or not (the sink stops with a message saying
 * what failed and what to do).
 */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(
    readonly retriable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Socket errors of a server that is restarting, unreachable for a while, or dropped the connection. */
const SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** node-postgres reports a lost or never-made connection by message only (no SQLSTATE, no errno). */
const PG_CONNECTION_LOST = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|Query read timeout/i;

/**
 * PostgreSQL, by SQLSTATE class: 08 (connection exceptions), 57P01/57P02/57P03 (shutdown, crash recovery,
 * not yet accepting connections), 53 (insufficient resources: disk, memory, too many connections) and
 * 40001/40P01 (serialization failure, deadlock) pass with time; every other SQLSTATE is a statement, a
 * permission or a credential the server refuses, and stays refused.
 */
export function isRetriablePostgres(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined) {
    if (SOCKET.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('53') || ['57P01', '57P02', '57P03', '40001', '40P01'].includes(code);
  }
  return err instanceof Error && PG_CONNECTION_LOST.test(err.message);
}

const PG_ADVICE: Record<string, string> = {
  '28P01': 'the server refused the password: check the user and password in DATABASE_URL',
  '28000': 'the server refused the login (pg_hba.conf or the role): check the user in DATABASE_URL and the server’s authentication rules',
  '3D000': 'the database does not exist: create it or fix the database name in DATABASE_URL',
  '42501': 'the user lacks a privilege: grant it CREATE on the database/schema and write access to the sink’s tables',
  '3F000': 'the schema does not exist and could not be created: check DATABASE_SCHEMA',
};

/** `where` names the database without its password (src/config.ts redactUrl). */
export function postgresError(err: unknown, where: string, what: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const code = codeOf(err);
  const detail = `${err instanceof Error ? err.message : String(err)}${code ? ` (${/^[0-9A-Z]{5}$/.test(code) ? 'SQLSTATE ' : ''}${code})` : ''}`;
  if (isRetriablePostgres(err)) return new DatabaseError(true, `PostgreSQL ${where}: ${what} failed: ${detail}`, { cause: err });
  const advice = (code && PG_ADVICE[code]) ?? 'waiting does not fix this; the sink stops so nothing is skipped';
  return new DatabaseError(false, `PostgreSQL ${where}: ${what} failed: ${detail} — ${advice}`, { cause: err });
}

/** DuckDB refuses a second process on a file it has open for writing. */
const DUCKDB_LOCKED = /Could not set lock on file/i;
/** Conflicts and resource shortages (disk full, memory) that another attempt can get past. */
const DUCKDB_TRANSIENT = /TransactionContext Error|Conflict on|write-write conflict|No space left on device|Out of Memory Error|could not allocate/i;

export function duckDbError(err: unknown, path: string, what: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (DUCKDB_LOCKED.test(detail)) {
    return new DatabaseError(
      false,
      `DuckDB ${path}: ${what} failed: the file is open in another process (${detail}). DuckDB allows one writing ` +
        `process per file, so only one sink instance can write a DuckDB file: stop the other sink, give this one its ` +
        `own DUCKDB_PATH, or use SINK_DESTINATION=postgres for several instances`,
      { cause: err },
    );
  }
  if (DUCKDB_TRANSIENT.test(detail)) return new DatabaseError(true, `DuckDB ${path}: ${what} failed: ${detail}`, { cause: err });
  return new DatabaseError(false, `DuckDB ${path}: ${what} failed: ${detail} — waiting does not fix this; the sink stops so nothing is skipped`, { cause: err });
}

/** The error's code; for Node's AggregateError (one failed attempt per address family) the first inner code. */
function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, errors } = err as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  return Array.isArray(errors) ? errors.map(codeOf).find((c) => c !== undefined) : undefined;
}
