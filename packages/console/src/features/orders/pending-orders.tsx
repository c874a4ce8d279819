import { Link } from 'react-router';
import type { PendingOrder } from '@kopitra/contracts';
import { formatNumber } from '../../shared/lib/format';
import { SelectFilter } from '../../shared/ui/filters';
import { LoadMore, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { PENDING_ORDER_STATUSES, usePendingOrders } from './api';

/** What became of a copy, in words an operator reads without the glossary. */
const OUTCOME: Record<PendingOrder['status'], string> = {
  pending: 'waiting for its price',
  filled: 'filled on the follower',
  replaced: 'replaced by a market open',
  cancelled: 'deleted',
  expired: 'expired',
  failed: 'refused by the broker',
};

/** The followers' copies of the master's pending orders, with their state. */
export function PendingOrders({
  filters,
  status,
  onStatus,
}: {
  filters: { followerAccountId: string; groupId: string };
  status: string;
  onStatus: (v: string) => void;
}) {
  const query: Record<string, string> = {};
  if (filters.followerAccountId) query['followerAccountId'] = filters.followerAccountId;
  if (filters.groupId) query['groupId'] = filters.groupId;
  if (status) query['status'] = status;
  const list = usePendingOrders(query);
  return (
    <section aria-labelledby="pending-orders-title">
      <h2 id="pending-orders-title">Pending orders</h2>
      <p className="muted">
        Each master pending order and the follower&apos;s own copy of it: placed, moved and deleted with the
        master&apos;s, until one of them fills.
      </p>
      <div className="filters">
        <SelectFilter
          label="Order status"
          value={status}
          options={PENDING_ORDER_STATUSES}
          onChange={onStatus}
        />
      </div>
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No pending orders match."
      >
        <table className="table" data-testid="pending-orders-table">
          <thead>
            <tr>
              <th>follower</th>
              <th>master order</th>
              <th>symbol</th>
              <th>type</th>
              <th className="num">price</th>
              <th className="num">lots</th>
              <th className="num">SL / TP</th>
              <th>ticket</th>
              <th>status</th>
              <th>expires</th>
              <th>placed</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((o) => (
              <tr
                key={`${o.groupId}|${o.followerAccountId}|${o.masterOrderId}`}
                data-testid="pending-order-row"
              >
                <td>
                  <Link to={`/accounts/${encodeURIComponent(o.followerAccountId)}`}>
                    {o.followerAccountId}
                  </Link>
                </td>
                <td>
                  {o.masterAccountId} #{o.masterOrderId}
                </td>
                <td>
                  {o.symbol} <span className={`side side-${o.side}`}>{o.side}</span>
                </td>
                <td>{o.orderType.replace('_', ' ')}</td>
                <td className="num">{formatNumber(o.price, 5)}</td>
                <td className="num">{formatNumber(o.volume)}</td>
                <td className="num">
                  {formatNumber(o.sl, 5)} / {formatNumber(o.tp, 5)}
                </td>
                <td>
                  {o.ticket ?? '—'}
                  {o.positionTicket ? ` → position ${o.positionTicket}` : ''}
                </td>
                <td title={OUTCOME[o.status]}>
                  <StatusBadge status={o.status} /> <span className="muted">{OUTCOME[o.status]}</span>
                </td>
                <td>{o.expiresAt ? <Time iso={o.expiresAt} /> : 'good till cancelled'}</td>
                <td>
                  <Time iso={o.placedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <LoadMore {...list} />
      </QueryState>
    </section>
  );
}
