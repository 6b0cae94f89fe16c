/**
 * Reference data every simulated company has and the API only reads: currencies, lead sources,
 * roles, permission sets, legacy teams and the filter helper tables. Fixed, so they cost nothing
 * per account and need no store; users and their permission-set assignments live in users.ts.
 */
import { hexIdFor, ID_KIND, uuidFor } from './ids.ts';

export interface Currency {
  id: number;
  code: string;
  name: string;
  decimal_points: number;
  symbol: string;
  active_flag: boolean;
  is_custom_flag: boolean;
}

export const CURRENCIES: readonly Currency[] = [
  ['USD', 'US Dollar', '$'], ['EUR', 'Euro', '€'], ['GBP', 'British Pound', '£'], ['JPY', 'Japanese Yen', '¥'],
  ['CHF', 'Swiss Franc', 'CHF'], ['SEK', 'Swedish Krona', 'kr'], ['CAD', 'Canadian Dollar', 'CA$'],
  ['AUD', 'Australian Dollar', 'A$'], ['INR', 'Indian Rupee', '₹'], ['BRL', 'Brazilian Real', 'R$'],
].map(([code, name, symbol], i) => ({
  id: i + 1, code: code!, name: name!, decimal_points: code === 'JPY' ? 0 : 2, symbol: symbol!,
  active_flag: true, is_custom_flag: false,
}));

/** The spec's example list; leads created through the API get `API`. */
export const LEAD_SOURCES: readonly { name: string }[] = ['Manually created', 'Deal', 'Web forms', 'Prospector',
  'Leadbooster', 'Live chat', 'Import', 'Website visitors', 'Workflow automation', 'API'].map((name) => ({ name }));

export interface Role {
  id: number;
  parent_role_id: number | null;
  name: string;
  active_flag: boolean;
  level: number;
}

export const ROLES: readonly Role[] = [
  { id: 1, parent_role_id: null, name: '(Unassigned users)', active_flag: true, level: 1 },
  { id: 2, parent_role_id: null, name: 'Sales management', active_flag: true, level: 1 },
  { id: 3, parent_role_id: 2, name: 'Account executives', active_flag: true, level: 2 },
  { id: 4, parent_role_id: 2, name: 'Sales development', active_flag: true, level: 2 },
];

export type PermissionApp = 'sales' | 'global' | 'account_settings' | 'projects' | 'campaigns';

export interface PermissionSet {
  id: string;
  name: string;
  description: string;
  app: PermissionApp;
  type: 'admin' | 'regular' | 'manager' | 'custom';
  contents: string[];
}

const SETS: [string, string, PermissionApp, PermissionSet['type']][] = [
  ['Deals admin', 'See and edit all sales data, manage company-level sales setup', 'sales', 'admin'],
  ['Deals regular user', 'Access to sales data; actions may be limited by custom permissions', 'sales', 'regular'],
  ['Global admin', 'See and edit all cross-product data and access related features', 'global', 'admin'],
  ['Global regular user', 'Access to cross-product data; actions may be limited', 'global', 'regular'],
  ['Account settings', 'Company account level features and setup', 'account_settings', 'admin'],
];

export const PERMISSION_SETS: readonly PermissionSet[] = SETS.map(([name, description, app, type], i) => ({
  id: uuidFor(ID_KIND.permissionSet, i + 1), name, description, app, type,
  contents: type === 'admin' ? ['view_all', 'edit_all', 'manage_settings'] : ['view_own', 'edit_own'],
}));

/** The permission sets a user holds: admins get the admin sets, others the regular ones. */
export function permissionSetsFor(isAdmin: boolean): PermissionSet[] {
  return PERMISSION_SETS.filter((s) => (isAdmin ? s.type === 'admin' : s.type === 'regular'));
}

export interface LegacyTeam {
  id: number;
  name: string;
  description: string;
  manager_id: number;
  users: number[];
  active_flag: 0 | 1;
  deleted_flag: 0 | 1;
  add_time: string;
  created_by_user_id: number;
}

export const LEGACY_TEAMS: readonly LegacyTeam[] = [
  { id: 1, name: 'Closers', description: 'Account executives', manager_id: 2, users: [2, 3, 4], active_flag: 1, deleted_flag: 0, add_time: '2024-03-01 09:00:00', created_by_user_id: 1 },
  { id: 2, name: 'Outbound', description: 'Sales development', manager_id: 5, users: [4, 5], active_flag: 1, deleted_flag: 0, add_time: '2024-06-11 12:54:43', created_by_user_id: 1 },
  { id: 3, name: 'Pilot squad', description: 'Disbanded pilot team', manager_id: 3, users: [3], active_flag: 0, deleted_flag: 1, add_time: '2023-11-20 08:30:00', created_by_user_id: 1 },
];

const CMP = { '=': 'is', '!=': 'is not', '>': 'is more than', '<': 'is less than', '>=': 'is more or equal to', '<=': 'is less or equal to', 'IS NULL': 'is empty', 'IS NOT NULL': 'is not empty' };
const DATE = { '=': 'is', '!=': 'is not', '>': 'is later than', '<': 'is earlier than', '>=': 'is exactly or later than', '<=': 'is exactly or earlier than', 'IS NULL': 'is empty', 'IS NOT NULL': 'is not empty' };

/** GET /v1/filters/helpers: operators per field type, relative dates, address subfields. */
export const FILTER_HELPERS = {
  operators: {
    int: CMP, double: CMP, monetary: CMP, date: DATE, time: DATE,
    varchar: { '=': 'is', '!=': 'is not', 'IS NULL': 'is empty', 'IS NOT NULL': 'is not empty', "LIKE '%$%'": 'contains', "LIKE '$%'": 'starts with', "NOT LIKE '$%'": 'does not start with' },
    set: { '=': 'is', '!=': 'is not', contains: 'contains', not_contains: 'does not contain', 'IS NULL': 'is empty', 'IS NOT NULL': 'is not empty' },
    enum: [{ '=': 'is' }, { '!=': 'is not' }, { 'IS NULL': 'is empty' }, { 'IS NOT NULL': 'is not empty' }],
  },
  relative_dates: {
    yesterday: 'yesterday', today: 'today', tomorrow: 'tomorrow', last_week: 'last week', this_week: 'this week',
    next_week: 'next week', last_month: 'last month', this_month: 'this month', next_month: 'next month',
  },
  address_field_components: {
    subpremise: 'Apartment/suite no', street_number: 'House number', route: 'Street/road name', sublocality: 'District/sublocality',
    locality: 'City/town/village/locality', admin_area_level_1: 'State/county', admin_area_level_2: 'Region', country: 'Country', postal_code: 'ZIP/Postal code',
  },
};

/** Report ids a goal links to (opaque hex in the real API). */
export const reportIdFor = (n: number): string => hexIdFor(ID_KIND.report, n);
