/**
 * Files (v1 only), metadata only: nothing is uploaded or downloadable. Delete is soft (active_flag
 * false, visible in recents) and purged 30 days later, like the other core entities.
 */
import type { SimClock } from '../clock.ts';
import { definedOnly } from './activity-types.ts';
import type { EventJournal } from './events.ts';
import type { Row, SortDirection } from './table.ts';
import { JournaledTable, type OffsetPage } from './v1-base.ts';

export interface FileRecord {
  user_id: number;
  deal_id: number | null;
  person_id: number | null;
  org_id: number | null;
  product_id: number | null;
  activity_id: number | null;
  lead_id: string | null;
  mail_message_id: number | null;
  file_name: string;
  file_type: string;
  file_size: number;
  remote_location: string;
  name: string;
  description: string;
  active_flag: boolean;
}

export type FileLinks = Partial<Pick<FileRecord, 'deal_id' | 'person_id' | 'org_id' | 'product_id' | 'activity_id' | 'lead_id'>>;

export interface NewFile extends FileLinks {
  file_name: string;
  file_size?: number;
  name?: string;
  description?: string;
  remote_location?: string;
}

const TYPES: Record<string, string> = { pdf: 'pdf', png: 'img', jpg: 'img', jpeg: 'img', gif: 'img', doc: 'doc', docx: 'doc', xls: 'xls', xlsx: 'xls', csv: 'text', txt: 'text' };

export function fileTypeOf(fileName: string): string {
  return TYPES[fileName.split('.').pop()?.toLowerCase() ?? ''] ?? 'other';
}

export class FileStore {
  readonly rows: JournaledTable<FileRecord>;

  constructor(clock: SimClock, journal: EventJournal) {
    this.rows = new JournaledTable<FileRecord>(clock, journal, 'file');
  }

  create(actor: number, f: NewFile): Row<FileRecord> {
    return this.rows.add(actor, () => ({
      user_id: actor, deal_id: f.deal_id ?? null, person_id: f.person_id ?? null, org_id: f.org_id ?? null,
      product_id: f.product_id ?? null, activity_id: f.activity_id ?? null, lead_id: f.lead_id ?? null,
      mail_message_id: null, file_name: f.file_name, file_type: fileTypeOf(f.file_name), file_size: f.file_size ?? 0,
      remote_location: f.remote_location ?? 's3', name: f.name ?? f.file_name, description: f.description ?? '', active_flag: true,
    }));
  }

  /** PUT /v1/files/{id}: name and description only. */
  update(actor: number, id: number, ch: { name?: string; description?: string }): Row<FileRecord> | undefined {
    const row = this.rows.live(id);
    return row && this.rows.update(row, actor, { ...row.data, ...definedOnly(ch) });
  }

  delete(actor: number, id: number): boolean {
    const row = this.rows.live(id);
    if (!row) return false;
    this.rows.softDelete(row, actor, { ...row.data, active_flag: false });
    return true;
  }

  get(id: number): Row<FileRecord> | undefined {
    return this.rows.getRow(id);
  }

  list(q: { start: number; limit: number; sortBy: 'id' | 'update_time'; direction: SortDirection }): OffsetPage<FileRecord> {
    return this.rows.page(q);
  }

  /** Live files of one deal (flow). */
  ofDeal(dealId: number): Row<FileRecord>[] {
    return this.rows.all().filter((r) => r.deletedAtMs === null && r.data.deal_id === dealId);
  }
}
