import {
  AlertsQuery,
  AnalyticsQuery,
  AuditQuery,
  ListQuery,
  OrdersQuery,
  PositionsQuery,
} from '@kopitra/contracts';
import type { ManagementDeps } from '../../services/management-deps.js';
import {
  ackAlert,
  listAlerts,
  listAudit,
  listOrders,
  listPendingOrders,
  listPositions,
  listStopOuts,
  resetStopOutBy,
} from '../../services/records.js';
import { replicationAnalytics } from '../../services/analytics.js';
import { route } from '../registry.js';

export const recordRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/orders',
    role: 'viewer',
    tag: 'orders',
    summary:
      "Copy orders, newest first (filters: status, follower, master, group, kind, the signal's id or the master's own signalId, the master's deal ticket)",
    query: OrdersQuery,
    handler: async ({ query }) => listOrders(deps, query),
  }),
  route({
    method: 'GET',
    url: '/api/admin/positions',
    role: 'viewer',
    tag: 'orders',
    summary: 'Linked positions: master position ↔ follower ticket',
    query: PositionsQuery,
    handler: async ({ query }) => listPositions(deps, query),
  }),
  route({
    method: 'GET',
    url: '/api/admin/pending-orders',
    role: 'viewer',
    tag: 'orders',
    summary:
      "Followers' copies of the master's pending orders and their state (pending, filled, replaced, cancelled, expired, failed)",
    query: PositionsQuery,
    handler: async ({ query }) => listPendingOrders(deps, query),
  }),
  route({
    method: 'GET',
    url: '/api/admin/audit',
    role: 'viewer',
    tag: 'audit',
    summary: 'Audit log, newest first',
    query: AuditQuery,
    handler: async ({ query }) => listAudit(deps, query),
  }),
  route({
    method: 'GET',
    url: '/api/admin/alerts',
    role: 'viewer',
    tag: 'alerts',
    summary: 'Alerts, newest first (open=true for unacknowledged)',
    query: AlertsQuery,
    handler: async ({ query }) =>
      listAlerts(deps, { ...query, open: query.open === undefined ? undefined : query.open === 'true' }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/alerts/{alertId}/ack',
    role: 'operator',
    tag: 'alerts',
    summary: 'Acknowledge an alert',
    handler: async ({ params, operator }) => ackAlert(deps, params['alertId']!, operator.email),
  }),
  route({
    method: 'GET',
    url: '/api/admin/stopouts',
    role: 'viewer',
    tag: 'alerts',
    summary: 'Risk-limit stop-outs, newest first',
    query: ListQuery,
    handler: async ({ query }) => listStopOuts(deps, query),
  }),
  route({
    method: 'POST',
    url: '/api/admin/stopouts/{stopoutId}/reset',
    role: 'operator',
    tag: 'alerts',
    summary: 'Reset a stop-out: the subscription may open again',
    handler: async ({ params, operator }) => resetStopOutBy(deps, params['stopoutId']!, operator.email),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/replication',
    role: 'viewer',
    tag: 'analytics',
    summary: 'Replication health: copied trades, success rate, latency and slippage, per hour',
    query: AnalyticsQuery,
    handler: async ({ query }) => replicationAnalytics(deps, {}, query.hours),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/accounts/{accountId}',
    role: 'viewer',
    tag: 'analytics',
    summary: "A follower's copying: trades, success rate, latency, slippage, PnL",
    query: AnalyticsQuery,
    handler: async ({ params, query }) =>
      replicationAnalytics(deps, { followerAccountId: params['accountId']! }, query.hours),
  }),
  route({
    method: 'GET',
    url: '/api/admin/analytics/groups/{groupId}',
    role: 'viewer',
    tag: 'analytics',
    summary: "A group's copying: trades, success rate, latency, slippage, PnL",
    query: AnalyticsQuery,
    handler: async ({ params, query }) =>
      replicationAnalytics(deps, { groupId: params['groupId']! }, query.hours),
  }),
];
