/**
 * Structured log lines (one JSON object per line on stdout, errors on stderr). Tests read some of them
 * (e.g. the sink's committed offset ranges), so event names are stable. Never log tokens or secrets.
 */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(component: string): Logger {
  return (event, fields = {}) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), component, event, ...fields });
    if (event.endsWith('error') || event.endsWith('failed')) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
}

export const silentLogger: Logger = () => undefined;
