/**
 * Top-level react-query keys, one per API resource. Features add their own parameters after
 * the first element; the live stream invalidates by these roots.
 */
export const resources = {
  me: 'me',
  snapshot: 'snapshot',
  analytics: 'analytics',
  sessions: 'sessions',
  accounts: 'accounts',
  groups: 'groups',
  orders: 'orders',
  positions: 'positions',
  alerts: 'alerts',
  stopouts: 'stopouts',
  tasks: 'tasks',
  audit: 'audit',
  users: 'users',
  webhooks: 'webhooks',
  manualOrders: 'manual-orders',
} as const;

export type Resource = (typeof resources)[keyof typeof resources];
