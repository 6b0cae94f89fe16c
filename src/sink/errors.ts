/** A failure waiting cannot fix: the sink stops with this message. */
export class SinkError extends Error {
  override name = 'SinkError';
  readonly retriable = false;
}
