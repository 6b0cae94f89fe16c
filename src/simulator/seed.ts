/**
 * Seeded company generator. Same seed + same clock instant → the same deals, field for field.
 * Times spread over the 90 days before the clock's now; ids ascend with add_time as in Pipedrive.
 */
import { randomBytes } from 'node:crypto';
import { Rng } from './prng.ts';
import { seedAccount } from './seed-account.ts';
import { seedDealPeople } from './store/deal-people.ts';
import { seedV1 } from './store/v1-seed.ts';
import { ACCOUNT } from './store/account.ts';
import type { Deal } from './store/deal-model.ts';
import type { SimStore } from './store/index.ts';
import { formatDate, formatV2 } from './time.ts';

const DAY = 24 * 3600;
const SPREAD_SEC = 90 * DAY;

const COMPANIES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell', 'Soylent',
  'Cyberdyne', 'Wonka', 'Gringotts', 'Aperture', 'Vandelay', 'Dunder Mifflin', 'Pied Piper'];
const PRODUCTS = ['licence renewal', 'onboarding', 'enterprise plan', 'pilot', 'support contract', 'upsell',
  'hardware order', 'consulting', 'annual plan', 'expansion'];
const LOST_REASONS = ['Price too high', 'Went with competitor', 'No budget', 'No response', 'Timing'];

/** A 40-hex-char API token (the real format). Seeded → deterministic; otherwise random. */
export function deriveToken(seed?: number): string {
  if (seed === undefined) return randomBytes(20).toString('hex');
  return new Rng((seed ^ 0x5eed7043) >>> 0).hex(40);
}

/** Add `count` generated deals to the store, times relative to the store clock's now. */
export function seedDeals(store: SimStore, seed: number, count: number): void {
  const rng = new Rng(seed);
  const nowSec = store.clock.nowSeconds();
  const addTimes = Array.from({ length: count }, () => nowSec - rng.int(0, SPREAD_SEC)).sort((a, b) => a - b);
  for (const addSec of addTimes) {
    const updateSec = addSec + rng.int(0, nowSec - addSec);
    store.deals.insert(addSec, updateSec, (id) => generateDeal(rng, id, addSec, updateSec));
  }
  seedDealPast(store, seed);
  seedAccount(store, seed, count); // persons, organizations, activities, products, custom fields (v2)
  seedV1(store, seed, count); // notes, files, leads, call logs, mail, projects/tasks, goals (v1)
  seedDealPeople(store, seed); // deal participants and followers
}

/**
 * The past of the generated deals, so their flow and changelog are not empty: a deal that has a
 * stage_change_time came into its stage then (from the stage before it in the pipeline, or the one after
 * for a first stage), and a won or lost deal was closed at its close_time. The events agree with the
 * deal's current fields and predate its update_time. Its own random stream: the deals stay as they were.
 */
function seedDealPast(store: SimStore, seed: number): void {
  const rng = new Rng((seed ^ 0x0f10a7ed) >>> 0);
  const sec = (v2: string) => Math.floor(Date.parse(v2) / 1000);
  const events: Parameters<SimStore['journal']['seedPast']>[0][number][] = [];
  for (const row of store.deals.table.all()) {
    const d = row.data;
    const stages = ACCOUNT.pipelines.get(d.pipeline_id) ?? [];
    if (d.stage_change_time !== null && stages.length > 1) {
      const at = stages.indexOf(d.stage_id);
      const from = at > 0 ? stages[at - 1]! : stages[at + 1]!;
      events.push({ itemType: 'deal', id: row.id, action: 'update', timeMs: sec(d.stage_change_time) * 1000, userId: d.owner_id, changes: [
        { field: 'stage_id', oldValue: from, newValue: d.stage_id },
        { field: 'stage_change_time', oldValue: null, newValue: d.stage_change_time },
      ] });
    }
    if (d.status !== 'open' && d.close_time !== null) {
      const closedBy = rng.chance(0.8) ? d.owner_id : rng.pick(ACCOUNT.userIds);
      const field = d.status === 'won' ? 'won_time' : 'lost_time';
      events.push({ itemType: 'deal', id: row.id, action: 'update', timeMs: sec(d.close_time) * 1000, userId: closedBy, changes: [
        { field: 'status', oldValue: 'open', newValue: d.status },
        { field: 'close_time', oldValue: null, newValue: d.close_time },
        { field, oldValue: null, newValue: d[field] },
        ...(d.status === 'lost' && d.lost_reason !== null ? [{ field: 'lost_reason', oldValue: null, newValue: d.lost_reason }] : []),
      ] });
    }
  }
  store.journal.seedPast(events);
}

/** One literal in DEAL_FIELDS order (see deal-model.ts); the store fills in id and the two times. */
function generateDeal(rng: Rng, id: number, addSec: number, updateSec: number): Deal {
  const status = rng.weighted([['open', 60], ['won', 25], ['lost', 15]] as const);
  const pipelineId = rng.pick([...ACCOUNT.pipelines.keys()]);
  const stages = ACCOUNT.pipelines.get(pipelineId) ?? [1];
  const between = (): string => formatV2(rng.int(addSec, updateSec));
  const closed = status === 'open' ? null : between();
  return {
    id,
    title: `${rng.pick(COMPANIES)} ${rng.pick(PRODUCTS)}`,
    creator_user_id: rng.pick(ACCOUNT.userIds),
    owner_id: rng.pick(ACCOUNT.userIds),
    value: rng.int(1, 500) * 100,
    person_id: rng.chance(0.8) ? rng.int(1, 500) : null,
    org_id: rng.chance(0.7) ? rng.int(1, 200) : null,
    stage_id: rng.pick(stages),
    pipeline_id: pipelineId,
    currency: rng.weighted([['USD', 60], ['EUR', 25], ['GBP', 15]] as const),
    archive_time: null,
    add_time: '',
    update_time: '',
    stage_change_time: rng.chance(0.6) ? between() : null,
    status,
    is_archived: false,
    is_deleted: false,
    probability: rng.chance(0.3) ? rng.int(0, 10) * 10 : null,
    lost_reason: status === 'lost' ? rng.pick(LOST_REASONS) : null,
    visible_to: rng.weighted([[3, 70], [1, 10], [5, 10], [7, 10]] as const),
    close_time: closed,
    won_time: status === 'won' ? closed : null,
    lost_time: status === 'lost' ? closed : null,
    local_won_date: null,
    local_lost_date: null,
    local_close_date: null,
    expected_close_date: rng.chance(0.7) ? formatDate(addSec + rng.int(0, 120) * DAY) : null,
    label_ids: rng.chance(0.3) ? [rng.int(1, 5)] : [],
    origin: 'ManuallyCreated',
    origin_id: null,
    channel: null,
    channel_id: null,
    acv: null,
    arr: null,
    mrr: null,
    custom_fields: {},
  };
}
