import type pg from 'pg';

/**
 * `COPY … FROM STDIN` on a pg client, without a streams package: a query object pg drives like its own
 * (pg calls `submit`, then the `handle*` methods as the server's messages arrive). The server answers the
 * COPY with CopyInResponse; the chunks go out as CopyData, then CopyDone; an error (a bad value, a lost
 * connection) rejects, as a failed query does. Resolves with the number of rows copied.
 */
export function copyFrom(client: pg.Client, sql: string, chunks: Iterable<string | Buffer>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    let rows = 0;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(rows);
    };
    const query = {
      submit(connection: Connection) {
        connection.query(sql);
      },
      handleCopyInResponse(connection: Connection) {
        try {
          for (const chunk of chunks) connection.sendCopyFromChunk(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
          connection.endCopyFrom();
        } catch (err) {
          connection.sendCopyFail(err instanceof Error ? err.message : String(err));
        }
      },
      handleCommandComplete(msg: { text?: string }) {
        const n = /^COPY (\d+)/.exec(msg.text ?? '');
        if (n) rows = Number(n[1]);
      },
      handleError(err: Error) {
        settle(err);
      },
      handleReadyForQuery() {
        settle(null);
      },
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    };
    client.query(query as unknown as pg.QueryConfig);
  });
}

/** The parts of pg's (untyped) Connection a COPY uses. */
interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}
