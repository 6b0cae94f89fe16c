/**
 * The admin API's settings endpoints: block, hash, filter, the schema-change policy and `enable`, pause
 * and resume, the audit log (spec/admin-api.yaml, docs/ADMIN-API.md). Only the admin token reaches the
 * changing ones (server.ts answers 403 to the read-only token first). Every change goes through the
 * connector's settings store, which writes it to Kafka with its audit record before it is in force.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { catalog } from '../catalog/index.ts';
import type { TableRules, SyncRulesSpec } from '../capture/rules.ts';
import { rowFilterSchema } from '../config-rules.ts';
import { SettingsError, type ConnectorSettingsStore } from '../connector-settings.ts';
import { KafkaError } from '../kafka/errors.ts';

export interface SettingsRoutesOptions {
  /** The settings of a connector of this process, or undefined when it has none by that name. */
  readonly settings: (connector: string) => ConnectorSettingsStore | undefined;
}

/** Where server.ts leaves the name of the token that authenticated the request (AdminToken.name). */
export const TOKEN_NAME = 'tokenHolder';

const empty = z.object({}).strict();
const filterBody = z.object({ filter: rowFilterSchema }).strict();
const policyBody = z.object({ policy: z.enum(['allow-all', 'allow-columns', 'block-all']) }).strict();
const enableBody = z.object({ enable: z.array(z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)?$/, 'a table (`person`) or a column (`deal.region_code`)')).min(1) }).strict();
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();

type Edit = (rules: SyncRulesSpec) => SyncRulesSpec | null;

export function settingsRoutes(opts: SettingsRoutesOptions): Router {
  const router = express.Router();
  router.use(express.json({ limit: '256kb' }));
  const base = '/v1/connectors/:connector';

  /** The connector's store, or a 404 answered. */
  const storeOf = (req: Request, res: Response): ConnectorSettingsStore | undefined => {
    const s = opts.settings(String(req.params.connector));
    if (!s) res.status(404).json({ error: 'not-found', message: `no connector named "${String(req.params.connector)}"` });
    return s;
  };
  /** A table of the catalog named in the path, or a 404 answered. */
  const tableOf = (req: Request, res: Response): string | undefined => {
    const t = String(req.params.table);
    if (!catalog.has(t)) res.status(404).json({ error: 'not-found', message: `no table "${t}" in the catalog (GET /v1/connectors/{connector} lists the connector's)` });
    return catalog.has(t) ? t : undefined;
  };
  const by = (res: Response) => String(res.locals[TOKEN_NAME] ?? 'unknown');

  /** Registers a rules change: the body checked, the store changed, the result with any warnings. */
  const rulesRoute = (method: 'post' | 'put' | 'delete', path: string, action: string, body: z.ZodType, make: (req: Request, b: never) => { target: string; edit: Edit; warnings?: string[] } | undefined, needsTable = true) => {
    router[method](`${base}${path}`, async (req, res, next) => {
      try {
        const store = storeOf(req, res);
        if (!store || (needsTable && !tableOf(req, res))) return;
        const b = parseBody(body, req.body);
        const made = make(req, b as never);
        if (!made) return;
        const change = await store.changeRules(by(res), action, made.target, made.edit);
        res.json({ settings: store.view(), change, warnings: made.warnings ?? [] });
      } catch (err) {
        next(err);
      }
    });
  };
  const pauseRoute = (path: string, action: string, edit: (req: Request, p: { paused: boolean; pausedTables: string[] }) => { paused: boolean; pausedTables: string[] }, target: (req: Request) => string, table = false) => {
    router.post(`${base}${path}`, async (req, res, next) => {
      try {
        const store = storeOf(req, res);
        if (!store || (table && !tableOf(req, res))) return;
        parseBody(empty, req.body);
        if (table) {
          const sync = catalog.get(tableName(req))!.sync;
          const parent = 'parent' in sync ? sync.parent : 'of' in sync ? sync.of : undefined;
          if (parent) throw new SettingsError(`table ${tableName(req)} is read with ${parent}: pause ${parent}`, 400);
        }
        const change = await store.changePause(by(res), action, target(req), (p) => edit(req, p));
        res.json({ settings: store.view(), change, warnings: [] });
      } catch (err) {
        next(err);
      }
    });
  };

  router.get(`${base}/settings`, (req, res) => {
    const store = storeOf(req, res);
    if (store) res.json(store.view());
  });
  router.get(`${base}/audit`, async (req, res, next) => {
    try {
      const store = storeOf(req, res);
      if (!store) return;
      const q = auditQuery.safeParse(req.query);
      if (!q.success) throw new SettingsError(`query ${issue(q.error)}`, 400);
      res.json({ entries: await store.audit(q.data.limit) });
    } catch (err) {
      next(err);
    }
  });

  rulesRoute('delete', '/rules', 'reset-rules', empty, (req) => ({ target: String(req.params.connector), edit: () => null, warnings: ['the configuration file\'s (or SYNC_RULES\') rules apply again from the next batch'] }), false);
  rulesRoute('post', '/tables/:table/block', 'block-table', empty, (req) => {
    const t = String(req.params.table);
    return { target: t, edit: (r) => ({ ...r, blockedTables: [...new Set([...(r.blockedTables ?? []), t])] }) };
  });
  rulesRoute('post', '/tables/:table/unblock', 'unblock-table', empty, (req) => {
    const t = String(req.params.table);
    return { target: t, edit: (r) => ({ ...r, blockedTables: (r.blockedTables ?? []).filter((x) => x !== t) }), warnings: [`${t} resumes from its last offset: changes made while it was blocked arrive with its next pass; rows deleted meanwhile are found as usual for the table (docs/ARCHITECTURE.md)`] };
  });
  const columnRoute = (verb: 'block' | 'unblock' | 'hash' | 'unhash', apply: (r: TableRules, c: string) => TableRules, warn?: (t: string, c: string) => string) =>
    rulesRoute('post', `/tables/:table/columns/:column/${verb}`, `${verb}-column`, empty, (req) => {
      const t = String(req.params.table);
      const c = String(req.params.column);
      return { target: `${t}.${c}`, edit: (r) => withTable(r, t, (tr) => apply(tr, c)), warnings: warn ? [warn(t, c)] : [] };
    });
  columnRoute('block', (tr, c) => ({ ...tr, block: add(tr.block, c), hash: remove(tr.hash, c) }));
  columnRoute('unblock', (tr, c) => ({ ...tr, block: remove(tr.block, c) }), (t, c) => `${t}.${c} is published from each row's next change; rows that do not change keep no value for it until the table is re-synced`);
  columnRoute('hash', (tr, c) => ({ ...tr, hash: add(tr.hash, c), block: remove(tr.block, c) }), (t, c) => `${t}.${c} is published as ${c}_sha256 from the next batch; rows published before keep their clear ${c} in the destination until they change: re-sync ${t} to rewrite them, then drop ${c} there (docs/SYNC-RULES.md)`);
  columnRoute('unhash', (tr, c) => ({ ...tr, hash: remove(tr.hash, c) }), (t, c) => `${t}.${c} is published in clear from the next batch; rows published before keep only ${c}_sha256 until they change`);
  rulesRoute('put', '/tables/:table/filter', 'set-filter', filterBody, (req, b: z.infer<typeof filterBody>) => {
    const t = String(req.params.table);
    return { target: t, edit: (r) => withTable(r, t, (tr) => ({ ...tr, filter: b.filter })), warnings: [`rows of ${t} that no longer match are published as deletes as they are read; rows that newly match arrive with their next change or a re-sync`] };
  });
  rulesRoute('delete', '/tables/:table/filter', 'clear-filter', empty, (req) => {
    const t = String(req.params.table);
    return { target: t, edit: (r) => withTable(r, t, ({ filter: _filter, ...tr }) => tr) };
  });
  rulesRoute('put', '/schema-changes', 'set-schema-changes', policyBody, (req, b: z.infer<typeof policyBody>) => ({ target: String(req.params.connector), edit: (r) => ({ ...r, schemaChanges: b.policy }) }), false);
  rulesRoute('post', '/enable', 'enable', enableBody, (req, b: z.infer<typeof enableBody>) => {
    for (const name of b.enable) if (!catalog.has(name.split('.')[0]!)) throw new SettingsError(`body.enable: unknown table "${name.split('.')[0]!}"`, 400);
    return { target: b.enable.join(','), edit: (r) => ({ ...r, enable: [...new Set([...(r.enable ?? []), ...b.enable])] }), warnings: ['enabled columns are published from each row\'s next change'] };
  }, false);

  const connectorName = (req: Request) => String(req.params.connector);
  pauseRoute('/pause', 'pause', (_req, p) => ({ ...p, paused: true }), connectorName);
  pauseRoute('/resume', 'resume', (_req, p) => ({ ...p, paused: false }), connectorName);
  pauseRoute('/tables/:table/pause', 'pause-table', (req, p) => ({ ...p, pausedTables: [...p.pausedTables, tableName(req)] }), tableName, true);
  pauseRoute('/tables/:table/resume', 'resume-table', (req, p) => ({ ...p, pausedTables: p.pausedTables.filter((t) => t !== tableName(req)) }), tableName, true);

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof SettingsError) res.status(err.status).json({ error: err.status === 409 ? 'conflict' : 'bad-request', message: err.message });
    else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'bad-request', message: 'body: not valid JSON' });
    else if (err instanceof KafkaError) res.status(503).json({ error: 'unavailable', message: `the change could not be written to Kafka (${err.message}); it is in force only if GET …/settings shows it` });
    else next(err);
  });
  return router;
}

function tableName(req: Request): string {
  return String((req.params as Record<string, string>).table);
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new SettingsError(`body ${issue(parsed.error)}`, 400);
  return parsed.data;
}

/** The first issue, naming the field: `filter.column: Required`; unknown keys by name. */
function issue(error: z.ZodError): string {
  // A misspelt key explains a missing one: report it first.
  const i = error.issues.find((x) => x.code === 'unrecognized_keys') ?? error.issues[0]!;
  const keys = 'keys' in i ? ` (${(i.keys as string[]).join(', ')})` : '';
  return `${i.path.length > 0 ? i.path.map(String).join('.') : '(the object)'}: ${i.message}${keys}`;
}

function withTable(r: SyncRulesSpec, table: string, edit: (tr: TableRules) => TableRules): SyncRulesSpec {
  const tables = { ...(r.tables ?? {}) };
  const next = clean(edit(tables[table] ?? {}));
  if (Object.keys(next).length === 0) delete tables[table];
  else tables[table] = next;
  return { ...r, tables };
}

/** Drops empty lists, so a table whose rules were all undone has none. */
function clean(tr: TableRules): TableRules {
  return Object.fromEntries(Object.entries(tr).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as TableRules;
}

function add(list: readonly string[] | undefined, c: string): string[] {
  return [...new Set([...(list ?? []), c])];
}

function remove(list: readonly string[] | undefined, c: string): string[] {
  return (list ?? []).filter((x) => x !== c);
}
