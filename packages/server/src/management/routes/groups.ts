import {
  AppError,
  GroupPatchRequest,
  GroupRequest,
  ListQuery,
  SubscriptionSettings,
  topics,
} from '@kopitra/contracts';
import { getGroup } from '../../store/copy.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/schema.js';
import { appendAudit } from '../../services/audit.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { createGroup, subscribe } from '../../services/groups.js';
import { route } from '../registry.js';
import { groupView } from '../../services/views.js';

const followersOf = (db: Db, groupId: string) =>
  db
    .selectFrom('subscriptions')
    .select(['follower_account_id', 'settings', 'created_at', 'updated_at'])
    .where('group_id', '=', groupId)
    .orderBy('created_at')
    .execute();

/** Gateways read subscriptions at every signal; the update tells other consumers (audit, caches, the console). */
async function publishMembership(
  deps: ManagementDeps,
  db: Db,
  groupId: string,
  change: string,
  accountId: string | null,
): Promise<void> {
  await deps.bus.publish(
    topics.copyGroupUpdates,
    {
      type: 'group.membership_changed',
      groupId,
      change,
      accountId,
      occurredAt: new Date(deps.clock.now()).toISOString(),
    },
    { db },
  );
}

export const groupRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/groups',
    role: 'viewer',
    tag: 'groups',
    summary: 'Copy groups with their followers',
    query: ListQuery,
    handler: async () => {
      const groups = await deps.db
        .selectFrom('copy_groups')
        .selectAll()
        .orderBy('created_at', 'desc')
        .execute();
      const subs = await deps.db
        .selectFrom('subscriptions')
        .select(['group_id', 'follower_account_id', 'settings', 'created_at', 'updated_at'])
        .execute();
      return {
        items: groups.map((g) =>
          groupView(
            g,
            subs.filter((s) => s.group_id === g.group_id),
          ),
        ),
        nextCursor: null,
      };
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/groups',
    role: 'operator',
    tag: 'groups',
    summary: 'Create a copy group for a master account',
    body: GroupRequest,
    status: 201,
    handler: async ({ body, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const g = await createGroup(trx, body, now);
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'group.create',
            targetType: 'group',
            targetId: g.group_id,
            after: groupView(g),
          },
          now,
        );
        await publishMembership(deps, trx, g.group_id, 'created', null);
        return groupView(g, []);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/groups/{groupId}',
    role: 'viewer',
    tag: 'groups',
    summary: 'One copy group and its subscriptions',
    handler: async ({ params }) => {
      const g = await getGroup(deps.db, params['groupId']!);
      if (!g) throw new AppError('group_not_found');
      return groupView(g, await followersOf(deps.db, g.group_id));
    },
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/groups/{groupId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Rename, pause or resume a group',
    body: GroupPatchRequest,
    handler: async ({ body, params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const before = await getGroup(trx, params['groupId']!);
        if (!before) throw new AppError('group_not_found');
        const now = deps.clock.now();
        const after = await trx
          .updateTable('copy_groups')
          .set({
            ...(body.name ? { name: body.name } : {}),
            ...(body.status ? { status: body.status } : {}),
            updated_at: now,
          })
          .where('group_id', '=', before.group_id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'group.update',
            targetType: 'group',
            targetId: before.group_id,
            before: groupView(before),
            after: groupView(after),
          },
          now,
        );
        await publishMembership(deps, trx, before.group_id, body.status ?? 'updated', null);
        return groupView(after, await followersOf(trx, after.group_id));
      }),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/groups/{groupId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Delete a group and its subscriptions (copied positions stay open)',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const before = await getGroup(trx, params['groupId']!);
        if (!before) throw new AppError('group_not_found');
        const followers = await followersOf(trx, before.group_id);
        await trx.deleteFrom('subscriptions').where('group_id', '=', before.group_id).execute();
        await trx.deleteFrom('copy_groups').where('group_id', '=', before.group_id).execute();
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'group.delete',
            targetType: 'group',
            targetId: before.group_id,
            before: groupView(before, followers),
          },
          deps.clock.now(),
        );
        await publishMembership(deps, trx, before.group_id, 'deleted', null);
        return { deleted: true, groupId: before.group_id };
      }),
  }),
  route({
    method: 'PUT',
    url: '/api/admin/groups/{groupId}/followers/{accountId}',
    role: 'operator',
    tag: 'groups',
    summary: "Subscribe a follower, or replace its subscription's settings",
    body: SubscriptionSettings,
    handler: async ({ body, params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const before = await trx
          .selectFrom('subscriptions')
          .select('settings')
          .where('group_id', '=', params['groupId']!)
          .where('follower_account_id', '=', params['accountId']!)
          .executeTakeFirst();
        const settings = await subscribe(trx, params['groupId']!, params['accountId']!, body, now);
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: before ? 'subscription.update' : 'subscription.create',
            targetType: 'subscription',
            targetId: `${params['groupId']}/${params['accountId']}`,
            before: before ? JSON.parse(before.settings) : undefined,
            after: settings,
          },
          now,
        );
        await publishMembership(
          deps,
          trx,
          params['groupId']!,
          before ? 'follower_updated' : 'follower_added',
          params['accountId']!,
        );
        return { groupId: params['groupId'], accountId: params['accountId'], settings };
      }),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/groups/{groupId}/followers/{accountId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Unsubscribe a follower (copied positions stay open)',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const before = await trx
          .selectFrom('subscriptions')
          .select('settings')
          .where('group_id', '=', params['groupId']!)
          .where('follower_account_id', '=', params['accountId']!)
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', 'This account does not follow this group.');
        await trx
          .deleteFrom('subscriptions')
          .where('group_id', '=', params['groupId']!)
          .where('follower_account_id', '=', params['accountId']!)
          .execute();
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'subscription.delete',
            targetType: 'subscription',
            targetId: `${params['groupId']}/${params['accountId']}`,
            before: JSON.parse(before.settings),
          },
          deps.clock.now(),
        );
        await publishMembership(deps, trx, params['groupId']!, 'follower_removed', params['accountId']!);
        return { deleted: true };
      }),
  }),
];
