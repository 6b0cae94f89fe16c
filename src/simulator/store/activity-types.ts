/**
 * Activity types (v1 only). Pipedrive's built-in types exist from the start; custom ones can be
 * added, edited and deleted. Delete only clears active_flag (the type stays listed, is_custom_flag
 * true), which is how recents and the list show it.
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export const ICON_KEYS = ['task', 'email', 'meeting', 'deadline', 'call', 'lunch', 'calendar', 'downarrow', 'document',
  'smartphone', 'camera', 'scissors', 'cogs', 'bubble', 'uparrow', 'checkbox', 'signpost', 'shuffle', 'addressbook',
  'linegraph', 'picture', 'car', 'world', 'search', 'clip', 'sound', 'brush', 'key', 'padlock', 'pricetag', 'suitcase',
  'finish', 'plane', 'loop', 'wifi', 'truck', 'cart', 'bulb', 'bell', 'presentation'] as const;
export type IconKey = (typeof ICON_KEYS)[number];

export interface ActivityTypeRecord {
  name: string;
  icon_key: IconKey;
  color: string;
  order_nr: number;
  key_string: string;
  active_flag: boolean;
  is_custom_flag: boolean;
}

/** Types without a color of their own (the spec's example value). */
const DEFAULT_COLOR = 'FFFFFF';

const BUILT_IN: [string, IconKey][] = [['Call', 'call'], ['Meeting', 'meeting'], ['Task', 'task'], ['Deadline', 'deadline'], ['Email', 'email'], ['Lunch', 'lunch']];

export interface ActivityTypeChanges {
  name?: string;
  icon_key?: IconKey;
  color?: string;
  order_nr?: number;
}

export class ActivityTypeStore {
  readonly rows: JournaledTable<ActivityTypeRecord>;

  constructor(clock: SimClock, journal: EventJournal, baseSec: number) {
    this.rows = new JournaledTable<ActivityTypeRecord>(clock, journal, 'activityType', undefined, null);
    BUILT_IN.forEach(([name, icon], i) => {
      this.rows.seed(baseSec, baseSec, () => ({ name, icon_key: icon, color: DEFAULT_COLOR, order_nr: i + 1, key_string: icon, active_flag: true, is_custom_flag: false }));
    });
  }

  list(): readonly Row<ActivityTypeRecord>[] {
    return this.rows.all();
  }

  get(id: number): Row<ActivityTypeRecord> | undefined {
    return this.rows.getRow(id);
  }

  create(actor: number, ch: ActivityTypeChanges & { name: string; icon_key: IconKey }): Row<ActivityTypeRecord> {
    const order = this.rows.table.size + 1;
    return this.rows.add(actor, (id) => ({
      name: ch.name, icon_key: ch.icon_key, color: ch.color ?? DEFAULT_COLOR, order_nr: ch.order_nr ?? order,
      key_string: `custom_${id}`, active_flag: true, is_custom_flag: true,
    }));
  }

  update(actor: number, id: number, ch: ActivityTypeChanges): Row<ActivityTypeRecord> | undefined {
    const row = this.rows.live(id);
    if (!row) return undefined;
    return this.rows.update(row, actor, { ...row.data, ...definedOnly(ch) });
  }

  /** Clears active_flag; false when absent or already deleted. */
  delete(actor: number, id: number): Row<ActivityTypeRecord> | undefined {
    const row = this.rows.live(id);
    if (!row) return undefined;
    this.rows.softDelete(row, actor, { ...row.data, active_flag: false });
    return row;
  }
}

/** Drop undefined keys so a spread never overwrites a field with undefined. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
