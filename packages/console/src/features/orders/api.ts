import type { CopyOrder, PendingOrder, Position } from '@kopitra/contracts';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';

export const ORDER_STATUSES = [
  'queued',
  'delivered',
  'acknowledged',
  'filled',
  'rejected',
  'failed',
  'expired',
  'skipped',
  'withdrawn',
] as const satisfies readonly CopyOrder['status'][];
export const ORDER_KINDS = [
  'open',
  'increase',
  'modify',
  'partial_close',
  'close',
] as const satisfies readonly CopyOrder['kind'][];
export const POSITION_STATUSES = [
  'open',
  'closing',
  'closed',
  'detached',
] as const satisfies readonly Position['status'][];

export const PENDING_ORDER_STATUSES = [
  'pending',
  'filled',
  'replaced',
  'cancelled',
  'expired',
  'failed',
] as const satisfies readonly PendingOrder['status'][];

export const useOrders = (filters: Record<string, string>) =>
  useCursorList<CopyOrder>(resources.orders, '/api/admin/orders', filters);
export const usePositions = (filters: Record<string, string>) =>
  useCursorList<Position>(resources.positions, '/api/admin/positions', filters);
/** The followers' copies of the master's pending orders; refreshed with the positions. */
export const usePendingOrders = (filters: Record<string, string>) =>
  useCursorList<PendingOrder>(resources.positions, '/api/admin/pending-orders', filters);
