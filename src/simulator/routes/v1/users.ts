/**
 * v1 users and company structure: getUsers, getUser, getCurrentUser, addUser, updateUser, getRoles,
 * getRole, getPermissionSets, getPermissionSet, getPermissionSetAssignments, getTeams, getTeam,
 * getTeamUsers. Adding users and changing active_flag need an admin token (403 otherwise).
 */
import express, { type RequestHandler, type Router } from 'express';
import { ApiError, badRequest, sendData } from '../../http/envelope.ts';
import { pathId, queryValue } from '../../http/params.ts';
import { LEGACY_TEAMS, PERMISSION_SETS, permissionSetsFor, ROLES, type LegacyTeam } from '../../store/company.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import type { UserRecord } from '../../store/users.ts';
import { bodyOf, readFields, requireFields } from './body.ts';
import { caller, flagQuery, forbidden, formatV1, formatV1OrNull, notFound, offsetParams, pathKey, sendPage, slicePage } from './common.ts';

export function presentUser(row: Row<UserRecord>, viewerId: number): Record<string, unknown> {
  const u = row.data;
  return {
    id: row.id, name: u.name, default_currency: u.default_currency, locale: u.locale, lang: u.lang, email: u.email,
    phone: u.phone, activated: u.activated, last_login: formatV1OrNull(u.last_login_sec), created: formatV1(row.addSec),
    modified: formatV1(row.updateSec), has_created_company: u.has_created_company,
    access: permissionSetsFor(u.is_admin).map((s) => ({ app: s.app, admin: u.is_admin, permission_set_id: s.id })),
    active_flag: u.active_flag, timezone_name: u.timezone_name, timezone_offset: u.timezone_offset, role_id: u.role_id,
    icon_url: u.icon_url, is_you: row.id === viewerId, is_deleted: u.is_deleted,
  };
}

export function userRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const users = store.v1.users;

  r.get('/users', operation('getUsers'), (_req, res) => {
    const me = caller(res).userId;
    sendData(res, users.list().map((u) => presentUser(u, me)));
  });

  r.get('/users/me', operation('getCurrentUser'), (_req, res) => {
    const row = users.get(caller(res).userId);
    if (!row) throw notFound('User');
    sendData(res, {
      ...presentUser(row, row.id), company_id: 1, company_name: 'Simulated Company', company_domain: 'sim',
      company_country: 'EE', company_industry: 'Software', language: { language_code: 'en', country_code: 'US' },
    });
  });

  r.get('/users/:id', operation('getUser'), (req, res) => {
    const row = users.get(pathId(req));
    if (!row) throw new ApiError(404, 'User not found', { success: false, error: 'User not found' });
    sendData(res, presentUser(row, caller(res).userId));
  });

  r.post('/users', operation('addUser'), (req, res) => {
    const me = caller(res);
    if (!me.admin) throw forbidden('Only admins can add users');
    const body = bodyOf(req);
    requireFields(body, ['email']);
    const f = readFields(body, { email: 'string', name: 'string', active_flag: 'bool' });
    if (!/^[^@\s]+@[^@\s]+$/.test(f.email as string)) throw badRequest('Validation failed: email: Invalid email address');
    const admin = Array.isArray(body['access']) && body['access'].some((a: unknown) => (a as { admin?: unknown })?.admin === true);
    const row = users.create(me.userId, { email: f.email as string, name: f.name as string | undefined, active_flag: f.active_flag as boolean | undefined, is_admin: admin });
    sendData(res, presentUser(row, me.userId));
  });

  r.put('/users/:id', operation('updateUser'), (req, res) => {
    const me = caller(res);
    if (!me.admin) throw forbidden('Only admins can update users');
    const body = bodyOf(req);
    requireFields(body, ['active_flag']);
    const row = users.setActive(me.userId, pathId(req), readFields(body, { active_flag: 'bool' }).active_flag as boolean);
    if (!row) throw new ApiError(404, 'User not found', { success: false, error: 'User not found' });
    sendData(res, presentUser(row, me.userId));
  });

  const usersOfRole = (roleId: number): number => users.list().filter((u) => u.data.role_id === roleId && !u.data.is_deleted).length;
  const presentRole = (role: (typeof ROLES)[number]) => ({
    ...role, assignment_count: String(usersOfRole(role.id)), sub_role_count: String(ROLES.filter((x) => x.parent_role_id === role.id).length),
  });

  r.get('/roles', operation('getRoles'), (req, res) => {
    const p = offsetParams(req);
    const { items, more } = slicePage(ROLES, p);
    sendPage(res, items.map(presentRole), p, more);
  });

  r.get('/roles/:id', operation('getRole'), (req, res) => {
    const role = ROLES.find((x) => x.id === pathId(req));
    if (!role) throw notFound('Role');
    const { level: _level, ...data } = presentRole(role);
    res.json({ success: true, data, additional_data: { settings: { deal_default_visibility: 3, lead_default_visibility: 3, org_default_visibility: 3, person_default_visibility: 3, product_default_visibility: 3 } } });
  });

  const holders = (setId: string): Row<UserRecord>[] => users.list().filter((u) => !u.data.is_deleted && permissionSetsFor(u.data.is_admin).some((s) => s.id === setId));
  const presentSet = (s: (typeof PERMISSION_SETS)[number]) => ({ id: s.id, name: s.name, description: s.description, app: s.app, type: s.type, assignment_count: holders(s.id).length });

  r.get('/permissionSets', operation('getPermissionSets'), (req, res) => {
    const app = queryValue(req, 'app');
    sendData(res, PERMISSION_SETS.filter((s) => app === undefined || s.app === app).map(presentSet));
  });

  r.get('/permissionSets/:id', operation('getPermissionSet'), (req, res) => {
    const set = PERMISSION_SETS.find((s) => s.id === pathKey(req));
    if (!set) throw notFound('Permission set');
    sendData(res, { ...presentSet(set), contents: set.contents });
  });

  r.get('/permissionSets/:id/assignments', operation('getPermissionSetAssignments'), (req, res) => {
    const set = PERMISSION_SETS.find((s) => s.id === pathKey(req));
    if (!set) throw notFound('Permission set');
    const p = offsetParams(req);
    const { items, more } = slicePage(holders(set.id), p);
    sendPage(res, items.map((u) => ({ user_id: u.id, permission_set_id: set.id, name: set.name })), p, more);
  });

  const presentTeam = (t: LegacyTeam, skipUsers: boolean): Record<string, unknown> => {
    const { users: members, ...rest } = t;
    return skipUsers ? rest : { ...rest, users: members };
  };
  const teamOr404 = (id: number): LegacyTeam => {
    const t = LEGACY_TEAMS.find((x) => x.id === id);
    if (!t) throw new ApiError(404, `Team ${id} does not exist`, { success: false, error: `Team ${id} does not exist` });
    return t;
  };

  r.get('/legacyTeams', operation('getTeams'), (req, res) => {
    const orderBy = queryValue(req, 'order_by') ?? 'id';
    if (!['id', 'name', 'manager_id', 'active_flag'].includes(orderBy)) throw badRequest('Validation failed: order_by: Must be one of id, name, manager_id, active_flag');
    const key = orderBy as 'id' | 'name' | 'manager_id' | 'active_flag';
    const sorted = [...LEGACY_TEAMS].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id - b.id));
    const skip = flagQuery(req, 'skip_users') ?? false;
    sendData(res, sorted.map((t) => presentTeam(t, skip)));
  });

  r.get('/legacyTeams/:id', operation('getTeam'), (req, res) => {
    sendData(res, presentTeam(teamOr404(pathId(req)), flagQuery(req, 'skip_users') ?? false));
  });

  r.get('/legacyTeams/:id/users', operation('getTeamUsers'), (req, res) => {
    sendData(res, teamOr404(pathId(req)).users);
  });

  return r;
}
