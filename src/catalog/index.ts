import { historyOf, type TableSpec } from './types.ts';
import { dealChange } from './tables/deal-change.ts';
import { activityField } from './tables/activity-field.ts';
import { activityType } from './tables/activity-type.ts';
import { activity, activityParticipant } from './tables/activity.ts';
import { callLog } from './tables/call-log.ts';
import { currency } from './tables/currency.ts';
import { dealField, dealFieldOption, dealFieldSubfield } from './tables/deal-field.ts';
import { deal } from './tables/deal.ts';
import { dealFollower, dealParticipant } from './tables/deal-people.ts';
import { file } from './tables/file.ts';
import { filter, filterHelper } from './tables/filter.ts';
import { goal, goalPipeline, goalResult } from './tables/goal.ts';
import { installment } from './tables/installment.ts';
import { leadLabel } from './tables/lead-label.ts';
import { leadSource } from './tables/lead-source.ts';
import { lead, leadLeadLabel } from './tables/lead.ts';
import { emailBcc, emailCc, emailTo, mailMessage, mailThread } from './tables/mail.ts';
import { note } from './tables/note.ts';
import { organization } from './tables/organization.ts';
import { permission, permissionAssignment, permissionSet } from './tables/permission.ts';
import { person, personEmail, personPhone } from './tables/person.ts';
import { pipeline } from './tables/pipeline.ts';
import { productDeal } from './tables/product-deal.ts';
import { product, productPriceHistory } from './tables/product.ts';
import { project, projectDeal } from './tables/project.ts';
import { role } from './tables/role.ts';
import { stage } from './tables/stage.ts';
import { task } from './tables/task.ts';
import { team, teamUser } from './tables/team.ts';
import { user } from './tables/user.ts';

/** Every declared table, parents before their children. */
const declared: readonly TableSpec[] = [
  // v2, incremental
  deal,
  dealChange,
  activity,
  activityParticipant,
  person,
  personEmail,
  personPhone,
  organization,
  product,
  productPriceHistory,
  pipeline,
  stage,
  // v1 Recents
  activityType,
  file,
  note,
  user,
  // re-imported
  lead,
  leadLeadLabel,
  leadLabel,
  leadSource,
  currency,
  role,
  filter,
  filterHelper,
  goal,
  goalPipeline,
  goalResult,
  callLog,
  permissionSet,
  permission,
  permissionAssignment,
  team,
  teamUser,
  project,
  projectDeal,
  task,
  dealField,
  dealFieldOption,
  dealFieldSubfield,
  activityField,
  productDeal,
  installment,
  dealParticipant,
  dealFollower,
  mailMessage,
  mailThread,
  emailTo,
  emailCc,
  emailBcc,
];

/** The declared tables and the history tables they feed (same columns, every version). */
const tables: readonly TableSpec[] = [...declared, ...declared.flatMap((t) => historyOf(t) ?? [])];

function byName(list: readonly TableSpec[]): ReadonlyMap<string, TableSpec> {
  const map = new Map<string, TableSpec>();
  for (const t of list) {
    if (map.has(t.name)) throw new Error(`catalog: table ${t.name} declared twice`);
    map.set(t.name, t);
  }
  return map;
}

/** Every table the connector knows, by name. */
export const catalog: ReadonlyMap<string, TableSpec> = byName(tables);

export function tableByName(name: string): TableSpec {
  const spec = catalog.get(name);
  if (!spec) {
    throw new Error(`unknown table "${name}"; known tables: ${[...catalog.keys()].join(', ')}`);
  }
  return spec;
}

export type { TableSpec, ColumnSpec, ColumnType } from './types.ts';
