import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { listAll } from '../pipedrive/lists.ts';
import { DeleteSuspects } from './delete-hints.ts';
import { ChangeHints } from './recents-gate.ts';
import { assignNames, parseFieldDef, withCustomColumns, type FieldDef } from './custom-fields.ts';
import type { EmitContext } from './emit.ts';
import type { DeleteGuard } from './delete-guard.ts';
import type { KeyIndex } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import { sourceFor, type SourceOptions } from './sources.ts';
import type { TableSource } from './table-source.ts';
import type { ChangeBatch } from './change.ts';

/**
 * One table as the engine runs it: its source, and its effective columns — the declared ones plus the
 * custom fields read from Pipedrive's field catalog (names frozen in the offset).
 */
export class TableRuntime {
  readonly ctx: EmitContext;
  private current: TableSource;
  private fieldsReadAtMs = Number.NEGATIVE_INFINITY;
  private committedOffset: TableOffset;
  /** Custom field hash → field type, as last listed (kept for fields deleted since). */
  private readonly customTypes: Record<string, string>;
  /** True until the field catalog was read once, if no offset ever held custom column names: every field then is an existing one. */
  private firstSight: boolean;
  /** Custom-field columns that arrived while new columns were blocked (kept in the offset). */
  private readonly newBlocked: Set<string>;
  /** Ids delete webhooks named, not yet confirmed: they outlive a failed pass's source (see `reset`). */
  readonly deleteSuspects = new DeleteSuspects();
  /** Marked by the scheduler for a pass a webhook asked for. */
  readonly changeHints = new ChangeHints();

  constructor(
    readonly base: TableSpec,
    private readonly client: PipedriveClient,
    deps: {
      tableOf: (name: string) => TableSpec;
      indexes: ReadonlyMap<string, KeyIndex>;
      budgetLow?: () => boolean;
      deleteGuard?: DeleteGuard;
      latenessMs?: number;
      /** The schema-change policy blocks custom-field columns that appear after the first field catalog read. */
      blockNewColumns?: boolean;
    },
    start: TableOffset,
    sourceOptions?: SourceOptions,
  ) {
    this.sourceOptions = { historyRebuild: 'off', ...sourceOptions, deleteSuspects: this.deleteSuspects, changeHints: this.changeHints };
    this.ctx = { spec: base, tableOf: deps.tableOf, indexes: deps.indexes, budgetLow: deps.budgetLow, deleteGuard: deps.deleteGuard, latenessMs: deps.latenessMs, customNames: start.customColumns ?? {} };
    this.current = sourceFor(this.ctx, client, start, this.sourceOptions);
    this.committedOffset = start;
    this.customTypes = { ...(start.customFieldTypes ?? {}) };
    this.firstSight = start.customColumns === undefined;
    this.newBlocked = new Set(start.newColumnsBlocked ?? []);
    this.blockNewColumns = deps.blockNewColumns === true;
  }

  private readonly blockNewColumns: boolean;
  private readonly sourceOptions: SourceOptions;

  /** Custom-field columns the schema-change policy blocked when they appeared (the rules may enable them). */
  get newColumnsBlocked(): ReadonlySet<string> {
    return this.newBlocked;
  }

  get source(): TableSource {
    return this.current;
  }

  /** The offset of the last committed batch: versions up to its cursor were published. */
  get lastCommitted(): TableOffset {
    return this.committedOffset;
  }

  /** The batch is durable in Kafka: it becomes the base of the next poll. */
  committed(batch: ChangeBatch): void {
    this.current.committed(batch);
    this.committedOffset = batch.offset;
  }

  /**
   * Forgets everything read since the last commit: a fresh source at the committed offset. Called after a
   * failed poll, so a page half-processed (a changelog call failed, a row was malformed) is read again and
   * no cursor moves past anything unpublished.
   */
  reset(): void {
    this.current = sourceFor(this.ctx, this.client, this.committedOffset, this.sourceOptions);
  }

  /** Starts the table over from `offset` (a re-sync): a fresh source, as if that offset had been committed. */
  restart(offset: TableOffset): void {
    this.committedOffset = offset;
    this.current = sourceFor(this.ctx, this.client, offset, this.sourceOptions);
  }

  get spec(): TableSpec {
    return this.ctx.spec;
  }

  customFieldsDue(nowMs: number, everyMs: number): boolean {
    return this.base.customFields !== undefined && nowMs - this.fieldsReadAtMs >= everyMs;
  }

  /**
   * Reads the field catalog and widens the table with new custom fields. Returns true when columns were
   * added (the caller registers the new schema before publishing rows that use them).
   */
  async refreshCustomFields(signal?: AbortSignal): Promise<boolean> {
    const cf = this.base.customFields;
    if (!cf) return false;
    const listed: FieldDef[] = [];
    for await (const page of listAll(this.client, cf.fields, {}, signal)) listed.push(...page.map((p) => parseFieldDef(p.item)));
    this.fieldsReadAtMs = Date.now();
    const columnsBefore = this.ctx.spec.columns.map((c) => `${c.name}:${c.type}`).join();
    for (const d of listed) if (d.isCustom) this.customTypes[d.key] = d.fieldType;
    // A field deleted in Pipedrive keeps its columns, with the types it had: a string in place of a
    // number would be a schema change BACKWARD compatibility refuses.
    const defs = [...listed, ...Object.keys(this.ctx.customNames ?? {}).filter((k) => !listed.some((d) => d.key === k)).map((k) => this.deletedField(k))];
    const known = this.ctx.customNames ?? {};
    const names = assignNames(known, defs, this.base.columns.map((c) => c.name));
    if (this.blockNewColumns && !this.firstSight) {
      // Fields first seen now are new columns: the policy keeps them out of what is published.
      const fresh = Object.fromEntries(Object.entries(names).filter(([key]) => !(key in known)));
      const baseNames = new Set(this.base.columns.map((c) => c.name));
      for (const c of withCustomColumns(this.base, fresh, defs).columns) if (!baseNames.has(c.name)) this.newBlocked.add(c.name);
    }
    this.firstSight = false;
    this.ctx.customNames = names;
    this.ctx.customDefs = defs;
    this.ctx.spec = withCustomColumns(this.base, names, defs);
    return this.ctx.spec.columns.map((c) => `${c.name}:${c.type}`).join() !== columnsBefore;
  }

  /** The offset to publish: the source's, with the custom column names (and field types) it was built with. */
  withNames(offset: TableOffset): TableOffset {
    if (!this.base.customFields) return offset;
    const blocked = this.newBlocked.size > 0 ? { newColumnsBlocked: [...this.newBlocked] } : {};
    return { ...offset, customColumns: this.ctx.customNames ?? {}, customFieldTypes: { ...this.customTypes }, ...blocked };
  }

  private deletedField(key: string): FieldDef {
    return { key, name: this.ctx.customNames?.[key] ?? key, fieldType: this.customTypes[key] ?? 'varchar', options: [], isCustom: true };
  }
}
