import { AlertsQuery, AppError, AuditQuery, ListQuery, OrdersQuery, PositionsQuery } from '@kopitra/contracts';
import { resetStopOut } from '../../store/risk.js';
import { inTransaction } from '../../store/transaction.js';
import { appendAudit } from '../audit.js';
import type { ManagementDeps } from '../deps.js';
import { afterCursor, decodeCursor, page } from '../pagination.js';
import { route } from '../registry.js';
import { alertView, auditView, orderView, positionView, stopOutView } from '../views.js';
import { replicationAnalytics } from '../analytics.js';

export const recordRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET', url: '/api/admin/orders', role: 'viewer', tag: 'orders', summary: 'Copy orders, newest first (filters: status, follower, master, group, kind)', query: OrdersQuery,
    handler: async ({ query }) => {
      const c = decodeCursor(query.cursor);
      let q = deps.db.selectFrom('copy_orders').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.followerAccountId) q = q.where('follower_account_id', '=', query.followerAccountId);
      if (query.masterAccountId) q = q.where('master_account_id', '=', query.masterAccountId);
      if (query.groupId) q = q.where('group_id', '=', query.groupId);
      if (query.kind) q = q.where('kind', '=', query.kind);
      q = afterCursor(q, 'written_at', 'order_id', c);
      const rows = await q.orderBy('written_at', 'desc').orderBy('order_id', 'desc').limit(query.limit + 1).execute();
      const p = page(rows, query.limit, (r) => ({ t: r.written_at, id: r.order_id }));
      return { items: p.items.map(orderView), nextCursor: p.nextCursor };
    },
  }),
  route({
    method: 'GET', url: '/api/admin/positions', role: 'viewer', tag: 'orders', summary: 'Linked positions: master position ↔ follower ticket', query: PositionsQuery,
    handler: async ({ query }) => {
      const c = decodeCursor(query.cursor);
      let q = deps.db.selectFrom('position_links').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.followerAccountId) q = q.where('follower_account_id', '=', query.followerAccountId);
      if (query.groupId) q = q.where('group_id', '=', query.groupId);
      const key = (r: { opened_at: number; group_id: string; follower_account_id: string; master_position_id: string }) => ({ t: r.opened_at, id: `${r.group_id}|${r.follower_account_id}|${r.master_position_id}` });
      if (c) q = q.where((eb) => eb.or([eb('opened_at', '<', c.t), eb('opened_at', '=', c.t)]));
      const rows = (await q.orderBy('opened_at', 'desc').limit(query.limit + 200).execute())
        .sort((a, b) => b.opened_at - a.opened_at || key(b).id.localeCompare(key(a).id))
        .filter((r) => !c || r.opened_at < c.t || key(r).id < c.id);
      const p = page(rows, query.limit, key);
      return { items: p.items.map(positionView), nextCursor: p.nextCursor };
    },
  }),
  route({
    method: 'GET', url: '/api/admin/audit', role: 'viewer', tag: 'audit', summary: 'Audit log, newest first', query: AuditQuery,
    handler: async ({ query }) => {
      const c = decodeCursor(query.cursor);
      let q = deps.db.selectFrom('audit_log').selectAll();
      if (query.actor) q = q.where('actor', '=', query.actor);
      if (query.action) q = q.where('action', '=', query.action);
      if (query.targetId) q = q.where('target_id', '=', query.targetId);
      q = afterCursor(q, 'at', 'audit_id', c);
      const rows = await q.orderBy('at', 'desc').orderBy('audit_id', 'desc').limit(query.limit + 1).execute();
      const p = page(rows, query.limit, (r) => ({ t: r.at, id: r.audit_id }));
      return { items: p.items.map(auditView), nextCursor: p.nextCursor };
    },
  }),
  route({
    method: 'GET', url: '/api/admin/alerts', role: 'viewer', tag: 'alerts', summary: 'Alerts, newest first (open=true for unacknowledged)', query: AlertsQuery,
    handler: async ({ query }) => {
      const c = decodeCursor(query.cursor);
      let q = deps.db.selectFrom('alerts').selectAll();
      if (query.open === 'true') q = q.where('acked_at', 'is', null);
      if (query.open === 'false') q = q.where('acked_at', 'is not', null);
      q = afterCursor(q, 'created_at', 'alert_id', c);
      const rows = await q.orderBy('created_at', 'desc').orderBy('alert_id', 'desc').limit(query.limit + 1).execute();
      const p = page(rows, query.limit, (r) => ({ t: r.created_at, id: r.alert_id }));
      return { items: p.items.map(alertView), nextCursor: p.nextCursor };
    },
  }),
  route({
    method: 'POST', url: '/api/admin/alerts/{alertId}/ack', role: 'operator', tag: 'alerts', summary: 'Acknowledge an alert',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const before = await trx.selectFrom('alerts').selectAll().where('alert_id', '=', params['alertId']!).executeTakeFirst();
        if (!before) throw new AppError('not_found', 'No alert with this id.');
        const after = before.acked_at !== null ? before : await trx.updateTable('alerts').set({ acked_at: now, acked_by: operator.email }).where('alert_id', '=', before.alert_id).returningAll().executeTakeFirstOrThrow();
        if (before.acked_at === null) await appendAudit(trx, { actor: operator.email, action: 'alert.ack', targetType: 'alert', targetId: before.alert_id, before: alertView(before), after: alertView(after) }, now);
        return alertView(after);
      }),
  }),
  route({
    method: 'GET', url: '/api/admin/stopouts', role: 'viewer', tag: 'alerts', summary: 'Risk-limit stop-outs, newest first', query: ListQuery,
    handler: async ({ query }) => {
      const rows = await deps.db.selectFrom('stop_outs').selectAll().orderBy('at', 'desc').limit(query.limit).execute();
      return { items: rows.map(stopOutView), nextCursor: null };
    },
  }),
  route({
    method: 'POST', url: '/api/admin/stopouts/{stopoutId}/reset', role: 'operator', tag: 'alerts', summary: 'Reset a stop-out: the subscription may open again',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const now = deps.clock.now();
        const before = await trx.selectFrom('stop_outs').selectAll().where('stop_out_id', '=', params['stopoutId']!).executeTakeFirst();
        if (!before) throw new AppError('not_found', 'No stop-out with this id.');
        const after = (await resetStopOut(trx, before.stop_out_id, operator.email, now)) ?? before;
        if (before.reset_at === null) await appendAudit(trx, { actor: operator.email, action: 'stopout.reset', targetType: 'stop_out', targetId: before.stop_out_id, before: stopOutView(before), after: stopOutView(after) }, now);
        return stopOutView(after);
      }),
  }),
  route({
    method: 'GET', url: '/api/admin/analytics/replication', role: 'viewer', tag: 'analytics', summary: 'Replication health: copied trades, success rate, latency and slippage, per hour',
    handler: async () => replicationAnalytics(deps, {}),
  }),
  route({
    method: 'GET', url: '/api/admin/analytics/accounts/{accountId}', role: 'viewer', tag: 'analytics', summary: "A follower's copying: trades, success rate, latency, slippage, PnL",
    handler: async ({ params }) => replicationAnalytics(deps, { followerAccountId: params['accountId']! }),
  }),
  route({
    method: 'GET', url: '/api/admin/analytics/groups/{groupId}', role: 'viewer', tag: 'analytics', summary: "A group's copying: trades, success rate, latency, slippage, PnL",
    handler: async ({ params }) => replicationAnalytics(deps, { groupId: params['groupId']! }),
  }),
];
