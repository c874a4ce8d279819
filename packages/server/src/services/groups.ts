/**
 * Copy groups and subscriptions. The steps (`insertValidGroup`, `putValidSubscription`)
 * validate inside a caller's transaction; the operator actions around them also write the
 * audit row and tell other consumers on `copy-group-updates`. Gateways read subscriptions at
 * every signal, so a change applies to the next signal without a restart.
 */
import { AppError, SubscriptionSettings, topics, type GroupRequest, isoTime } from '@kopitra/contracts';
import { settingsProblems, unsupportedSettings, withDefaults } from '@kopitra/engine';
import { getAccount } from '../store/accounts.js';
import {
  deleteGroup as deleteGroupRows,
  deleteSubscription,
  followersOf,
  getGroup,
  getSubscriptionSettings,
  insertGroup,
  listGroupsWithFollowers,
  putSubscription,
  updateGroup,
  type GroupRow,
} from '../store/copy.js';
import type { Db } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { parse } from '../http/parse.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { groupFields, groupView } from './views.js';

type GroupDeps = Pick<ManagementDeps, 'db' | 'clock' | 'bus'>;

export async function insertValidGroup(db: Db, req: GroupRequest, now: number): Promise<GroupRow> {
  if (!(await getAccount(db, req.masterAccountId)))
    throw new AppError('account_not_found', undefined, { accountId: req.masterAccountId });
  return insertGroup(db, { name: req.name, masterAccountId: req.masterAccountId }, now);
}

/** Creates or replaces a follower's subscription; `settings` is validated in full before anything changes. */
export async function putValidSubscription(
  db: Db,
  groupId: string,
  followerAccountId: string,
  settings: unknown,
  now: number,
): Promise<SubscriptionSettings> {
  const input = parse(SubscriptionSettings, settings ?? {}, 'body');
  const problems = settingsProblems(withDefaults(input));
  if (problems.length) {
    throw new AppError('invalid_request', `Invalid subscription settings: ${problems.join('; ')}`, {
      issues: problems.map((message) => ({
        path: `body.${message.split(/[ [.]/)[0]}`,
        message,
        code: 'custom',
      })),
    });
  }
  const unsupported = unsupportedSettings(withDefaults(input));
  if (unsupported.length) {
    throw new AppError(
      'setting_unsupported',
      `Unsupported subscription settings: ${unsupported.join('; ')}`,
      {
        issues: unsupported.map((message) => ({
          path: `body.${message.split(/[ [.]/)[0]}`,
          message,
          code: 'unsupported',
        })),
      },
    );
  }
  const group = await getGroup(db, groupId);
  if (!group) throw new AppError('group_not_found', undefined, { groupId });
  if (group.master_account_id === followerAccountId) throw new AppError('follower_is_master');
  if (!(await getAccount(db, followerAccountId)))
    throw new AppError('account_not_found', undefined, { accountId: followerAccountId });
  await putSubscription(db, { groupId, followerAccountId, settings: input }, now);
  return input;
}

async function publishMembership(
  deps: GroupDeps,
  db: Db,
  groupId: string,
  change: string,
  accountId: string | null,
): Promise<void> {
  await deps.bus.publish(
    topics.copyGroupUpdates,
    { type: 'group.membership_changed', groupId, change, accountId, occurredAt: isoTime(deps.clock.now()) },
    { db },
  );
}

export async function listGroups(deps: Pick<ManagementDeps, 'db'>) {
  return (await listGroupsWithFollowers(deps.db)).map((g) => groupView(g.group, g.followers));
}

export async function groupDetail(deps: Pick<ManagementDeps, 'db'>, groupId: string) {
  const g = await getGroup(deps.db, groupId);
  if (!g) throw new AppError('group_not_found');
  return groupView(g, await followersOf(deps.db, g.group_id));
}

export async function createGroup(deps: GroupDeps, actor: string, req: GroupRequest) {
  return inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const g = await insertValidGroup(trx, req, now);
    await appendAudit(
      trx,
      { actor, action: 'group.create', targetType: 'group', targetId: g.group_id, after: groupFields(g) },
      now,
    );
    await publishMembership(deps, trx, g.group_id, 'created', null);
    return groupView(g, []);
  });
}

export async function changeGroup(
  deps: GroupDeps,
  actor: string,
  groupId: string,
  patch: { name?: string | undefined; status?: 'active' | 'paused' | undefined },
) {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await getGroup(trx, groupId);
    if (!before) throw new AppError('group_not_found');
    const now = deps.clock.now();
    const after = await updateGroup(trx, before.group_id, patch, now);
    await appendAudit(
      trx,
      {
        actor,
        action: 'group.update',
        targetType: 'group',
        targetId: before.group_id,
        before: groupFields(before),
        after: groupFields(after),
      },
      now,
    );
    await publishMembership(deps, trx, before.group_id, patch.status ?? 'updated', null);
    return groupView(after, await followersOf(trx, after.group_id));
  });
}

/** Deletes a group and its subscriptions; copied positions stay open. */
export async function deleteGroup(deps: GroupDeps, actor: string, groupId: string) {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await getGroup(trx, groupId);
    if (!before) throw new AppError('group_not_found');
    const followers = await followersOf(trx, before.group_id);
    await deleteGroupRows(trx, before.group_id);
    await appendAudit(
      trx,
      {
        actor,
        action: 'group.delete',
        targetType: 'group',
        targetId: before.group_id,
        before: groupView(before, followers),
      },
      deps.clock.now(),
    );
    await publishMembership(deps, trx, before.group_id, 'deleted', null);
    return { deleted: true as const, groupId: before.group_id };
  });
}

/** Subscribes a follower, or replaces its subscription's settings. */
export async function subscribe(
  deps: GroupDeps,
  actor: string,
  groupId: string,
  accountId: string,
  settings: unknown,
) {
  return inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const before = await getSubscriptionSettings(trx, groupId, accountId);
    const input = await putValidSubscription(trx, groupId, accountId, settings, now);
    await appendAudit(
      trx,
      {
        actor,
        action: before ? 'subscription.update' : 'subscription.create',
        targetType: 'subscription',
        targetId: `${groupId}/${accountId}`,
        before: before ? JSON.parse(before) : undefined,
        after: input,
      },
      now,
    );
    await publishMembership(deps, trx, groupId, before ? 'follower_updated' : 'follower_added', accountId);
    return { groupId, accountId, settings: input };
  });
}

/** Ends a subscription; copied positions stay open. */
export async function unsubscribe(deps: GroupDeps, actor: string, groupId: string, accountId: string) {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await getSubscriptionSettings(trx, groupId, accountId);
    if (!before) throw new AppError('not_found', 'This account does not follow this group.');
    await deleteSubscription(trx, groupId, accountId);
    await appendAudit(
      trx,
      {
        actor,
        action: 'subscription.delete',
        targetType: 'subscription',
        targetId: `${groupId}/${accountId}`,
        before: JSON.parse(before),
      },
      deps.clock.now(),
    );
    await publishMembership(deps, trx, groupId, 'follower_removed', accountId);
    return { deleted: true as const };
  });
}
