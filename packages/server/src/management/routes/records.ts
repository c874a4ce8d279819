import {
  AlertsQuery,
  AppError,
  AuditQuery,
  ListQuery,
  OrdersQuery,
  PositionsQuery,
} from '@kopitra/contracts';
import { resetStopOut } from '../../store/risk.js';
import { inTransaction } from '../../store/transaction.js';
import { appendAudit } from '../../services/audit.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { listNewestFirst } from '../../store/pagination.js';
import { route } from '../registry.js';
import { alertView, auditView, orderView, positionView, stopOutView } from '../../services/views.js';
import { replicationAnalytics } from '../../services/analytics.js';

export const recordRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/orders',
    role: 'viewer',
    tag: 'orders',
    summary: 'Copy orders, newest first (filters: status, follower, master, group, kind)',
    query: OrdersQuery,
    handler: async ({ query }) => {
      let q = deps.db.selectFrom('copy_orders').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.followerAccountId) q = q.where('follower_account_id', '=', query.followerAccountId);
      if (query.masterAccountId) q = q.where('master_account_id', '=', query.masterAccountId);
      if (query.groupId) q = q.where('group_id', '=', query.groupId);
      if (query.kind) q = q.where('kind', '=', query.kind);
      return listNewestFirst(
        q,
        { time: 'written_at', id: 'order_id', key: (r) => ({ t: r.written_at, id: r.order_id }) },
        query,
        orderView,
      );
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/positions',
    role: 'viewer',
    tag: 'orders',
    summary: 'Linked positions: master position ↔ follower ticket',
    query: PositionsQuery,
    handler: async ({ query }) => {
      let q = deps.db.selectFrom('position_links').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.followerAccountId) q = q.where('follower_account_id', '=', query.followerAccountId);
      if (query.groupId) q = q.where('group_id', '=', query.groupId);
      // A link's open order id is unique among links: the tie-breaker for equal open times.
      return listNewestFirst(
        q,
        { time: 'opened_at', id: 'open_order_id', key: (r) => ({ t: r.opened_at, id: r.open_order_id }) },
        query,
        positionView,
      );
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/audit',
    role: 'viewer',
    tag: 'audit',
    summary: 'Audit log, newest first',
    query: AuditQuery,
    handler: async ({ query }) => {
      let q = deps.db.selectFrom('audit_log').selectAll();
      if (query.actor) q = q.where('actor', '=', query.actor);
      if (query.action) q = q.where('action', '=', query.action);
      if (query.targetId) q = q.where('target_id', '=', query.targetId);
      return listNewestFirst(
        q,
        { time: 'at', id: 'audit_id', key: (r) => ({ t: r.at, id: r.audit_id }) },
        query,
        auditView,
      );
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/alerts',
    role: 'viewer',
    tag: 'alerts',
    summary: 'Alerts, newest first (open=true for unacknowledged)',
    query: AlertsQuery,
    handler: async ({ query }) => {
      let q = deps.db.selectFrom('alerts').selectAll();
      if (query.open === 'true') q = q.where('acked_at', 'is', null);
      if (query.open === 'false') q = q.where('acked_at', 'is not', null);
      return listNewestFirst(
        q,
        { time: 'created_at', id: 'alert_id', key: (r) => ({ t: r.created_at, id: r.alert_id }) },
        query,
        alertView,
      );
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/alerts/{alertId}/ack',
    role: 'operator',
    tag: 'alerts',
    summary: 'Acknowledge an alert',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const before = await trx
          .selectFrom('alerts')
          .selectAll()
          .where('alert_id', '=', params['alertId']!)
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', 'No alert with this id.');
        const after =
          before.acked_at !== null
            ? before
            : await trx
                .updateTable('alerts')
                .set({ acked_at: now, acked_by: operator.email })
                .where('alert_id', '=', before.alert_id)
                .returningAll()
                .executeTakeFirstOrThrow();
        if (before.acked_at === null)
          await appendAudit(
            trx,
            {
              actor: operator.email,
              action: 'alert.ack',
              targetType: 'alert',
              targetId: before.alert_id,
              before: alertView(before),
              after: alertView(after),
            },
            now,
          );
        return alertView(after);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/stopouts',
    role: 'viewer',
    tag: 'alerts',
    summary: 'Risk-limit stop-outs, newest first',
    query: ListQuery,
    handler: async ({ query }) => {
      return listNewestFirst(
        deps.db.selectFrom('stop_outs').selectAll(),
        { time: 'at', id: 'stop_out_id', key: (r) => ({ t: r.at, id: r.stop_out_id }) },
        query,
        stopOutView,
      );
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/stopouts/{stopoutId}/reset',
    role: 'operator',
    tag: 'alerts',
    summary: 'Reset a stop-out: the subscription may open again',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const before = await trx
          .selectFrom('stop_outs')
          .selectAll()
          .where('stop_out_id', '=', params['stopoutId']!)
          .executeTakeFirst();
        if (!before) throw new AppError('not_found', 'No stop-out with this id.');
        const after = (await resetStopOut(trx, before.stop_out_id, operator.email, now)) ?? before;
        if (before.reset_at === null)
          await appendAudit(
            trx,
            {
              actor: operator.email,
              action: 'stopout.reset',
              targetType: 'stop_out',
              targetId: before.stop_out_id,
              before: stopOutView(before),
              after: stopOutView(after),
            },
            now,
          );
        return stopOutView(after);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/replication',
    role: 'viewer',
    tag: 'analytics',
    summary: 'Replication health: copied trades, success rate, latency and slippage, per hour',
    handler: async () => replicationAnalytics(deps, {}),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/accounts/{accountId}',
    role: 'viewer',
    tag: 'analytics',
    summary: "A follower's copying: trades, success rate, latency, slippage, PnL",
    handler: async ({ params }) => replicationAnalytics(deps, { followerAccountId: params['accountId']! }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/groups/{groupId}',
    role: 'viewer',
    tag: 'analytics',
    summary: "A group's copying: trades, success rate, latency, slippage, PnL",
    handler: async ({ params }) => replicationAnalytics(deps, { groupId: params['groupId']! }),
  }),
];
