/** Pipedrive's response envelopes and error bodies, shared by every route. */
import type { Response } from 'express';

export const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';

/** An error a handler throws; the server's error middleware turns it into Pipedrive's JSON body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = errorBody(message),
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The shape of observed v1/v2 error bodies (e.g. a 400 on a missing deal title). */
export function errorBody(error: string, errorInfo = ERROR_INFO): Record<string, unknown> {
  return { success: false, error, error_info: errorInfo, data: null, additional_data: null };
}

/** Exactly what Pipedrive answers on a missing or wrong token. */
export const UNAUTHORIZED_BODY = Object.freeze({
  success: false,
  error: 'unauthorized access',
  errorCode: 401,
  error_info: ERROR_INFO,
});

export const badRequest = (message: string): ApiError => new ApiError(400, message);

/** The spec's 404 body for a missing entity. */
export const entityNotFound = (): ApiError =>
  new ApiError(404, 'Entity was not found', errorBody('Entity was not found', 'Object was not found.'));

export function sendData(res: Response, data: unknown): void {
  res.json({ success: true, data });
}

export function sendList(res: Response, data: unknown[], nextCursor: string | null): void {
  res.json({ success: true, data, additional_data: { next_cursor: nextCursor } });
}
