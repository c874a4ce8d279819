import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';

export interface CopyOrder {
  orderId: string;
  signalId: string | null;
  groupId: string;
  followerAccountId: string;
  masterAccountId: string;
  masterPositionId: string;
  kind: string;
  origin: string;
  status: string;
  reason: string | null;
  /** The reason catalogue's sentence for `reason`. */
  reasonText: string | null;
  masterSignalId: string | null;
  masterDealTicket: string | null;
  detail: string | null;
  symbol: string | null;
  side: string | null;
  volume: number | null;
  sl: number | null;
  tp: number | null;
  masterPrice: number | null;
  ticket: string | null;
  fillPrice: number | null;
  filledVolume: number | null;
  slippagePoints: number | null;
  slippageAmount: number | null;
  profit: number | null;
  errorCode: string | null;
  message: string | null;
  times: Record<
    | 'masterDeal'
    | 'signalReceived'
    | 'written'
    | 'delivered'
    | 'acknowledged'
    | 'executed'
    | 'reported'
    | 'expires',
    string | null
  >;
}

export interface Position {
  groupId: string;
  followerAccountId: string;
  masterAccountId: string;
  masterPositionId: string;
  symbol: string;
  side: string;
  ticket: string | null;
  openVolume: number;
  masterVolume: number;
  sl: number | null;
  tp: number | null;
  status: string;
  openedAt: string;
  closedAt: string | null;
}

export const ORDER_STATUSES = [
  'queued',
  'delivered',
  'acknowledged',
  'filled',
  'rejected',
  'failed',
  'expired',
  'skipped',
] as const;
export const ORDER_KINDS = ['open', 'modify', 'partial_close', 'close'] as const;
export const POSITION_STATUSES = ['open', 'closing', 'closed', 'detached'] as const;

export const useOrders = (filters: Record<string, string>) =>
  useCursorList<CopyOrder>(resources.orders, '/api/admin/orders', filters);
export const usePositions = (filters: Record<string, string>) =>
  useCursorList<Position>(resources.positions, '/api/admin/positions', filters);
