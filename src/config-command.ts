import { parseArgs } from 'node:util';
import { describeConfig } from './config.ts';
import { loadProducerConfigs, loadSinkConfigFrom } from './config-file.ts';

const USAGE = `pipedrive-cdc config check [--config FILE]

Validates the configuration — the file given with --config (YAML or JSON) with the environment over it,
or the environment alone — without connecting to anything, and prints what the producer (one line per
connector) and the sink would run with, secrets left out. Exit code 0 when it is valid, 2 with a message
naming the bad setting (its path in the file, e.g. connectors[1].tables) when not.`;

/** `pipedrive-cdc config check`: the configuration as the producer and sink would load it. */
export async function runConfigCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'check' || positionals.length > 1) {
    process.stderr.write(`pipedrive-cdc config: expected "check", got ${positionals.length === 0 ? 'nothing' : `"${positionals.join(' ')}"`}\n\n${USAGE}\n`);
    return 2;
  }
  const producers = loadProducerConfigs(values.config);
  for (const c of producers) process.stdout.write(`producer ${c.connectorName}: ${describeConfig(c)}\n`);
  // The sink section is optional in a file with several connectors; without one, only the producers are checked.
  try {
    const sink = loadSinkConfigFrom(values.config);
    process.stdout.write(`sink: ${describeConfig(sink)}\n`);
  } catch (err) {
    if (!(values.config && producers.length > 1 && /^sink\.connector: required/.test((err as Error).message))) throw err;
    process.stdout.write('sink: no sink section naming a connector (sink.connector); not checked\n');
  }
  process.stdout.write(`configuration OK (${producers.length} connector${producers.length === 1 ? '' : 's'})\n`);
  return 0;
}
