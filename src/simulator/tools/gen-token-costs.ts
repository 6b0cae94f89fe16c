/**
 * Regenerate src/simulator/token-costs.json (operationId → x-token-cost, per API version) from
 * Pipedrive's OpenAPI specs, so the simulator prices calls without the specs at runtime.
 *
 *   npx tsx src/simulator/tools/gen-token-costs.ts           # write the file
 *   npx tsx src/simulator/tools/gen-token-costs.ts --check   # exit 1 if the file is stale
 *
 * Specs: $PIPEDRIVE_OPENAPI_DIR, else the repository's spec/pipedrive-openapi.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { COSTS_JSON_PATH, costsFromSpecs, formatCostTable, specDir } from '../http/rate-limit-costs.ts';

const dir = specDir();
const text = formatCostTable(await costsFromSpecs(dir));
const counts = JSON.parse(text) as Record<string, object>;
const summary = Object.entries(counts).map(([v, m]) => `${v}: ${Object.keys(m).length}`).join(', ');

if (process.argv.includes('--check')) {
  const current = existsSync(COSTS_JSON_PATH) ? readFileSync(COSTS_JSON_PATH, 'utf8') : '';
  if (current !== text) {
    process.stderr.write(`${COSTS_JSON_PATH} is stale against ${dir}; rerun without --check\n`);
    process.exit(1);
  }
  process.stdout.write(`token costs up to date (${summary})\n`);
} else {
  writeFileSync(COSTS_JSON_PATH, text);
  process.stdout.write(`wrote ${COSTS_JSON_PATH} from ${dir} (${summary})\n`);
}
