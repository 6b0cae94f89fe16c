/**
 * Company users (v1 only). The account's users (ACCOUNT.userIds) exist from the start; the API can
 * add users and (de)activate them (PUT active_flag), and a test can delete one the way an admin does
 * in the UI (`delete`: is_deleted + inactive; the row stays listed, as the real /v1/users does).
 */
import type { SimClock } from '../clock.ts';
import { ACCOUNT } from './account.ts';
import type { EventJournal } from './events.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export interface UserRecord {
  name: string;
  email: string;
  phone: string | null;
  default_currency: string;
  locale: string;
  lang: number;
  timezone_name: string;
  timezone_offset: string;
  role_id: number;
  icon_url: string | null;
  activated: boolean;
  active_flag: boolean;
  is_deleted: boolean;
  is_admin: boolean;
  has_created_company: boolean;
  last_login_sec: number | null;
}

const BASE_NAMES = ['Ada Admin', 'Bruno Closer', 'Chen Hunter', 'Dana Farmer', 'Eli Prospector'];
const ZONES: [string, string][] = [['Europe/Tallinn', '+02:00'], ['Europe/Berlin', '+01:00'], ['America/New_York', '-05:00'], ['Europe/London', '+00:00']];

export interface NewUser {
  email: string;
  name?: string;
  active_flag?: boolean;
  is_admin?: boolean;
}

export class UserStore {
  readonly rows: JournaledTable<UserRecord>;

  constructor(clock: SimClock, journal: EventJournal, baseSec: number) {
    this.rows = new JournaledTable<UserRecord>(clock, journal, 'user', undefined, null);
    ACCOUNT.userIds.forEach((_id, i) => {
      const name = BASE_NAMES[i % BASE_NAMES.length]!;
      const created = baseSec + i * 86_400;
      // Account users have logged in (a day before the account's now minus their index in hours).
      this.rows.seed(created, created, () => ({ ...user(name, emailOf(name), i === 0, i), last_login_sec: clock.nowSeconds() - 86_400 - i * 3600 }));
    });
  }

  list(): readonly Row<UserRecord>[] {
    return this.rows.all();
  }

  get(id: number): Row<UserRecord> | undefined {
    return this.rows.getRow(id);
  }

  nameOf(id: number | null): string | null {
    return id === null ? null : (this.rows.getRow(id)?.data.name ?? null);
  }

  create(actor: number, u: NewUser): Row<UserRecord> {
    const name = u.name ?? u.email.split('@')[0] ?? u.email;
    return this.rows.add(actor, () => ({ ...user(name, u.email, u.is_admin ?? false, this.rows.table.size), active_flag: u.active_flag ?? true, activated: false, last_login_sec: null }));
  }

  /** PUT /v1/users/{id}: the only writable field is active_flag. */
  setActive(actor: number, id: number, active: boolean): Row<UserRecord> | undefined {
    const row = this.rows.getRow(id);
    if (!row || row.data.is_deleted) return undefined;
    return this.rows.update(row, actor, { ...row.data, active_flag: active });
  }

  /** What an admin deleting a user in the UI leaves behind: is_deleted, inactive, still listed. */
  delete(actor: number, id: number): boolean {
    const row = this.rows.getRow(id);
    if (!row || row.data.is_deleted) return false;
    this.rows.softDelete(row, actor, { ...row.data, is_deleted: true, active_flag: false });
    return true;
  }
}

function emailOf(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@sim.example`;
}

function user(name: string, email: string, admin: boolean, n: number): UserRecord {
  const [tz, offset] = ZONES[n % ZONES.length]!;
  return {
    name, email, phone: n % 2 === 0 ? `+372 5550 ${String(1000 + n).padStart(4, '0')}` : null,
    default_currency: ACCOUNT.defaultCurrency, locale: 'en_US', lang: 1, timezone_name: tz, timezone_offset: offset,
    role_id: admin ? 2 : 3, icon_url: null, activated: true, active_flag: true, is_deleted: false, is_admin: admin,
    has_created_company: n === 0, last_login_sec: null,
  };
}
