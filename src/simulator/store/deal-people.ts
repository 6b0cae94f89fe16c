/**
 * The people around a deal besides its contact person: participants (persons, v1
 * `/deals/{id}/participants`) and followers (users, v2 `/deals/{id}/followers`). Journaled writes
 * (itemType `dealParticipant` / `dealFollower`); a removal is a soft delete, never listed again.
 * A person or user is on a deal at most once. The deal's participants_count / followers_count count
 * them; an API write moves the deal's update_time (routes call DealStore.touch), so incremental readers
 * see the new counts.
 */
import type { SimClock } from '../clock.ts';
import { Rng } from '../prng.ts';
import { ACCOUNT } from './account.ts';
import type { SimStore } from './index.ts';
import type { EventJournal } from './events.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export interface ParticipantRecord {
  readonly deal_id: number;
  readonly person_id: number;
  readonly added_by_user_id: number;
}

export interface FollowerRecord {
  readonly deal_id: number;
  readonly user_id: number;
}

export class DealPeopleStore {
  readonly participants: JournaledTable<ParticipantRecord>;
  readonly followers: JournaledTable<FollowerRecord>;
  /** Rows per deal, rebuilt after a write (per-deal reads of a large account stay cheap). */
  private index: { participants: Map<number, Row<ParticipantRecord>[]>; followers: Map<number, Row<FollowerRecord>[]> } | undefined;

  constructor(clock: SimClock, journal: EventJournal) {
    this.participants = new JournaledTable<ParticipantRecord>(clock, journal, 'dealParticipant', undefined, null);
    this.followers = new JournaledTable<FollowerRecord>(clock, journal, 'dealFollower', undefined, null);
  }

  /** A generated participant (seeding: explicit time, no journal event). */
  seedParticipant(sec: number, r: ParticipantRecord): void {
    this.participants.seed(sec, sec, () => r);
    this.index = undefined;
  }

  /** A generated follower (seeding: explicit time, no journal event). */
  seedFollower(sec: number, r: FollowerRecord): void {
    this.followers.seed(sec, sec, () => r);
    this.index = undefined;
  }

  private byDeal() {
    if (!this.index) {
      const group = <T extends { deal_id: number }>(rows: readonly Row<T>[]) => {
        const m = new Map<number, Row<T>[]>();
        for (const r of rows) if (r.deletedAtMs === null) (m.get(r.data.deal_id) ?? m.set(r.data.deal_id, []).get(r.data.deal_id)!).push(r);
        return m;
      };
      this.index = { participants: group(this.participants.table.all()), followers: group(this.followers.table.all()) };
    }
    return this.index;
  }

  /** A deal's live participants, oldest first. */
  participantsOf(dealId: number): Row<ParticipantRecord>[] {
    return [...(this.byDeal().participants.get(dealId) ?? [])];
  }

  /** A deal's live followers, oldest first. */
  followersOf(dealId: number): Row<FollowerRecord>[] {
    return [...(this.byDeal().followers.get(dealId) ?? [])];
  }

  /** Adds a participant; undefined when the person is one already. */
  addParticipant(dealId: number, personId: number, userId: number): Row<ParticipantRecord> | undefined {
    if (this.participantsOf(dealId).some((r) => r.data.person_id === personId)) return undefined;
    this.index = undefined;
    return this.participants.add(userId, () => ({ deal_id: dealId, person_id: personId, added_by_user_id: userId }));
  }

  /** Removes a participant by its id; false when it is not one of the deal's. */
  removeParticipant(dealId: number, id: number, userId: number): boolean {
    const row = this.participants.live(id);
    if (!row || row.data.deal_id !== dealId) return false;
    this.index = undefined;
    this.participants.softDelete(row, userId, row.data);
    return true;
  }

  /** Adds a follower; undefined when the user follows the deal already. */
  addFollower(dealId: number, followerUserId: number, userId: number): Row<FollowerRecord> | undefined {
    if (this.followersOf(dealId).some((r) => r.data.user_id === followerUserId)) return undefined;
    this.index = undefined;
    return this.followers.add(userId, () => ({ deal_id: dealId, user_id: followerUserId }));
  }

  /** Removes a follower by user id; false when the user does not follow the deal. */
  removeFollower(dealId: number, followerUserId: number, userId: number): boolean {
    const row = this.followersOf(dealId).find((r) => r.data.user_id === followerUserId);
    if (!row) return false;
    this.index = undefined;
    this.followers.softDelete(row, userId, row.data);
    return true;
  }
}

/**
 * Generated participants and followers: about one deal in five has one or two participants (persons other
 * than its contact person), one in four one or two followers besides nobody (users). Added between the
 * deal's add time and its update time, so a deal's update_time stays the latest change. Its own random
 * stream: the other generated data stays as it was.
 */
export function seedDealPeople(store: SimStore, seed: number): void {
  const rng = new Rng((seed ^ 0x0dea1f01) >>> 0);
  const persons = store.persons.table.size;
  for (const d of store.deals.table.all()) {
    const at = () => rng.int(d.addSec, d.updateSec);
    if (persons > 1 && rng.chance(0.2)) {
      const taken = new Set([d.data.person_id]);
      for (let n = rng.int(1, 2); n > 0; n--) {
        const personId = rng.int(1, persons);
        if (taken.has(personId)) continue;
        taken.add(personId);
        store.dealPeople.seedParticipant(at(), { deal_id: d.id, person_id: personId, added_by_user_id: d.data.owner_id });
      }
    }
    if (rng.chance(0.25)) {
      const taken = new Set<number>();
      for (let n = rng.int(1, 2); n > 0; n--) {
        const userId = rng.pick(ACCOUNT.userIds);
        if (taken.has(userId)) continue;
        taken.add(userId);
        store.dealPeople.seedFollower(at(), { deal_id: d.id, user_id: userId });
      }
    }
  }
}
