import type { CopyOrder, Position } from '@kopitra/contracts';
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

export const useOrders = (filters: Record<string, string>) =>
  useCursorList<CopyOrder>(resources.orders, '/api/admin/orders', filters);
export const usePositions = (filters: Record<string, string>) =>
  useCursorList<Position>(resources.positions, '/api/admin/positions', filters);
