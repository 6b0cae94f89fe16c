/**
 * The sync rules' settings (capture/rules.ts): their shape as a zod schema, used for the configuration
 * file's `rules` section of a connector and for the `SYNC_RULES` variable (the same object as JSON, which
 * is also how the file hands the section to the environment loader).
 */
import { z } from 'zod';
import { ConfigError, secret, type Env } from './config-env.ts';
import { SyncRules, SyncRulesError, type RowFilter, type SyncRulesSpec } from './capture/rules.ts';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const column = z.string().min(1);

export const rowFilterSchema: z.ZodType<RowFilter> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(rowFilterSchema).min(1) }).strict(),
    z.object({ or: z.array(rowFilterSchema).min(1) }).strict(),
    z.object({ column, eq: scalar }).strict(),
    z.object({ column, ne: scalar }).strict(),
    z.object({ column, in: z.array(scalar).min(1) }).strict(),
    z.object({ column, isNull: z.boolean() }).strict(),
    z
      .object({ column, gt: scalar.optional(), gte: scalar.optional(), lt: scalar.optional(), lte: scalar.optional() })
      .strict()
      .refine((f) => f.gt !== undefined || f.gte !== undefined || f.lt !== undefined || f.lte !== undefined, 'a range needs gt, gte, lt or lte'),
  ]),
);

export const syncRulesSchema = z
  .object({
    blockedTables: z.array(z.string().min(1)).optional(),
    tables: z
      .record(
        z.string(),
        z.object({ block: z.array(column).optional(), hash: z.array(column).optional(), filter: rowFilterSchema.optional() }).strict(),
      )
      .optional(),
    schemaChanges: z.enum(['allow-all', 'allow-columns', 'block-all']).optional(),
    enable: z.array(z.string().min(1)).optional(),
  })
  .strict();

/**
 * SYNC_RULES (JSON), SCHEMA_CHANGES over its `schemaChanges`, and the salt of hashed columns (HASH_SALT or
 * HASH_SALT_FILE; never printed). Every rule is checked against the catalog here, before connecting.
 */
export function loadSyncRules(env: Env): SyncRules {
  let spec: SyncRulesSpec = {};
  const text = env['SYNC_RULES'];
  if (text !== undefined && text.trim() !== '') {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ConfigError('SYNC_RULES: not valid JSON (the rules object, as in the configuration file\'s "rules" section)');
    }
    const parsed = syncRulesSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ConfigError(`SYNC_RULES: ${i.path.map(String).join('.') || '(the object)'}: ${i.message}`);
    }
    spec = parsed.data;
  }
  const policy = env['SCHEMA_CHANGES'];
  if (policy !== undefined && policy !== '') {
    if (!['allow-all', 'allow-columns', 'block-all'].includes(policy)) throw new ConfigError(`SCHEMA_CHANGES: "${policy}" is not one of allow-all, allow-columns, block-all`);
    spec = { ...spec, schemaChanges: policy as SyncRulesSpec['schemaChanges'] };
  }
  try {
    return new SyncRules(spec, secret(env, 'HASH_SALT'));
  } catch (err) {
    if (err instanceof SyncRulesError) throw new ConfigError(err.message.startsWith('HASH_SALT') ? err.message : `SYNC_RULES: ${err.message.replace(/^sync rules: /, '')}`);
    throw err;
  }
}
