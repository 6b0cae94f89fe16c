/**
 * A connector's runtime settings: its sync rules (capture/rules.ts) and its pause state, changed through
 * the admin API and kept in Kafka (publish/settings-log.ts), so a restarted or another instance sees
 * them. Precedence: the file's (or SYNC_RULES') rules apply until rules are changed through the API; from
 * then on the config topic's rules do, until they are reset (docs/ADMIN-API.md). The pause state always
 * comes from the topic.
 *
 * The producer reads the settings at each session start and adopts changed rules at a batch boundary (it
 * ends the session, and the next one starts with them); pause state is read before each table's poll and
 * after each batch, and status reads it directly, so a pause shows at once.
 */
import { z } from 'zod';
import { catalog } from './catalog/index.ts';
import { syncRulesSchema } from './config-rules.ts';
import { SyncRules, SyncRulesError, type SyncRulesSpec } from './capture/rules.ts';
import type { Logger } from './observe/log.ts';
import type { ProducerKafka } from './publish/kafka.ts';
import type { SettingsLog } from './publish/settings-log.ts';

/** The settings as the API shows them and the audit records them (no secret is part of them). */
export interface SettingsView {
  /** The rules in force. */
  readonly rules: SyncRulesSpec;
  /** `file`: the configuration file's or SYNC_RULES' rules; `api`: rules changed through the API. */
  readonly rulesFrom: 'file' | 'api';
  readonly paused: boolean;
  readonly pausedTables: readonly string[];
}

export interface AuditEntry {
  /** ISO 8601. */
  readonly at: string;
  /** The name of the admin token that made the change (AdminToken.name), never the token. */
  readonly by: string;
  readonly action: string;
  /** What the action applied to: `deal`, `deal.title`, or the connector's name. */
  readonly target: string;
  readonly before: SettingsView;
  readonly after: SettingsView;
}

/** A change the settings cannot take: 400 (invalid) or 409 (conflicts with what was synced). */
export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(
    message: string,
    readonly status: 400 | 409,
  ) {
    super(message);
  }
}

const stored = z.object({
  version: z.literal(1),
  /** null: the file's rules. */
  rules: syncRulesSchema.nullable(),
  paused: z.boolean(),
  pausedTables: z.array(z.string()),
});
type Stored = z.infer<typeof stored>;

const NOTHING: Stored = { version: 1, rules: null, paused: false, pausedTables: [] };

export class ConnectorSettingsStore {
  private state: Stored = NOTHING;
  private effective: SyncRules;
  private gen = 0;
  private loaded = false;
  private readonly listeners = new Set<() => void>();
  /** Loads and changes one after another: a load never overwrites a change it did not read. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: { readonly connector: string; readonly fileRules: SyncRules; readonly log: SettingsLog; readonly logger: Logger },
  ) {
    this.effective = opts.fileRules;
  }

  /** Reads the config topic (each session start; `via`: the session's Kafka connection). */
  load(via?: Pick<ProducerKafka, 'readCompacted'>): Promise<void> {
    return this.serial(() => this.read(via));
  }

  /** The rules in force. */
  get rules(): SyncRules {
    return this.effective;
  }

  /** Moves whenever the rules in force change: a session that started with another value ends at its next batch. */
  get generation(): number {
    return this.gen;
  }

  get paused(): boolean {
    return this.state.paused;
  }

  tablePaused(table: string): boolean {
    return this.state.pausedTables.includes(table);
  }

  /** Calls `listener` after every change made through this store; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  view(): SettingsView {
    return viewOf(this.state, this.effective);
  }

  /**
   * Changes the rules: `edit` gets the rules in force and returns the new ones, or null for the file's.
   * Throws SettingsError for rules that cannot work (unknown column, hashing without HASH_SALT) or that
   * would change a record key's schema (refused: no compatibility level accepts that in one subject).
   */
  changeRules(by: string, action: string, target: string, edit: (rules: SyncRulesSpec) => SyncRulesSpec | null): Promise<AuditEntry> {
    return this.serial(async () => {
      if (!this.loaded) await this.read();
      const spec = edit(structuredClone(this.effective.spec) as SyncRulesSpec);
      const next = spec === null ? this.opts.fileRules : this.validated(spec);
      return this.commit(by, action, target, { ...this.state, rules: spec === null ? null : (next.spec as Stored['rules']) }, next);
    });
  }

  /** Changes the pause state of the connector or of its tables. */
  changePause(by: string, action: string, target: string, edit: (p: { paused: boolean; pausedTables: string[] }) => { paused: boolean; pausedTables: string[] }): Promise<AuditEntry> {
    return this.serial(async () => {
      if (!this.loaded) await this.read();
      const p = edit({ paused: this.state.paused, pausedTables: [...this.state.pausedTables] });
      return this.commit(by, action, target, { ...this.state, paused: p.paused, pausedTables: [...new Set(p.pausedTables)].sort() }, this.effective);
    });
  }

  /** Audits an action that changes no setting (a re-sync asked for): the settings are written unchanged with it. */
  recordAction(by: string, action: string, target: string): Promise<AuditEntry> {
    return this.serial(async () => {
      if (!this.loaded) await this.read();
      const view = this.view();
      const entry: AuditEntry = { at: new Date().toISOString(), by, action, target, before: view, after: view };
      await this.opts.log.write(this.state, entry);
      this.opts.logger('settings-action', { action, target, by });
      return entry;
    });
  }

  /** The connector's audit records, newest first. */
  async audit(limit: number): Promise<AuditEntry[]> {
    const all = (await this.opts.log.readAudit()) as AuditEntry[];
    return all.reverse().slice(0, limit);
  }

  close(): Promise<void> {
    return this.opts.log.close();
  }

  private async read(via?: Pick<ProducerKafka, 'readCompacted'>): Promise<void> {
    const raw = await this.opts.log.readSettings(via);
    let next = NOTHING;
    if (raw !== undefined) {
      const parsed = stored.safeParse(raw);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        throw new Error(`the settings of connector ${this.opts.connector} in its _config topic are not readable (${i.path.map(String).join('.')}: ${i.message}); write a tombstone for the key ["${this.opts.connector}","settings"] there to go back to the file's rules and no pause`);
      }
      next = parsed.data;
    }
    // Rules in the topic that no longer work (a table gone from the catalog, HASH_SALT unset) stop the producer with the reason.
    const rules = next.rules === null ? this.opts.fileRules : this.opts.fileRules.withSpec(next.rules);
    if (next.rules !== null && this.state.rules === null && !this.loaded) this.opts.logger('settings-from-api', { rulesFrom: 'api', note: 'the rules changed through the admin API apply, not the file\'s (docs/ADMIN-API.md)' });
    this.adopt(next, rules);
    this.loaded = true;
  }

  private validated(spec: SyncRulesSpec): SyncRules {
    const parsed = syncRulesSchema.safeParse(spec);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new SettingsError(`rules.${i.path.map(String).join('.')}: ${i.message}`, 400);
    }
    let next: SyncRules;
    try {
      next = this.opts.fileRules.withSpec(parsed.data);
      for (const s of catalog.values()) {
        const before = this.effective.publishedSpec(s).primaryKey;
        const after = next.publishedSpec(s).primaryKey;
        if (JSON.stringify(before) !== JSON.stringify(after)) {
          throw new SettingsError(`table ${s.name}: the change would turn its record key ${JSON.stringify(before)} into ${JSON.stringify(after)}, which no schema compatibility accepts in the same subject; hash key columns from a connector's first sync (a new topicPrefix, docs/SYNC-RULES.md)`, 409);
        }
      }
    } catch (err) {
      if (err instanceof SyncRulesError) throw new SettingsError(err.message.replace(/^sync rules: /, ''), 400);
      throw err;
    }
    return next;
  }

  private async commit(by: string, action: string, target: string, next: Stored, rules: SyncRules): Promise<AuditEntry> {
    const entry: AuditEntry = { at: new Date().toISOString(), by, action, target, before: this.view(), after: viewOf(next, rules) };
    // Written first: only a change Kafka holds is in force (and audited).
    await this.opts.log.write(next, entry);
    this.adopt(next, rules);
    this.opts.logger('settings-changed', { action, target, by });
    for (const l of [...this.listeners]) l();
    return entry;
  }

  private adopt(next: Stored, rules: SyncRules): void {
    if (JSON.stringify(rules.spec) !== JSON.stringify(this.effective.spec)) this.gen++;
    this.state = next;
    this.effective = rules;
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function viewOf(s: Stored, rules: SyncRules): SettingsView {
  return { rules: rules.spec, rulesFrom: s.rules === null ? 'file' : 'api', paused: s.paused, pausedTables: s.pausedTables };
}
