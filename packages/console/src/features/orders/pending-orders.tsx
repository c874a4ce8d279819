import type { PendingOrder } from '@kopitra/contracts';
import { formatNumber } from '../../shared/lib/format';
import { FilterBar, type FilterField } from '../../shared/ui/filters';
import { ListTable } from '../../shared/ui/list-table';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { PENDING_ORDER_STATUSES, usePendingOrders } from './api';
import { CopyCells } from './copy-cells';

/** What became of a copy, in words an operator reads without the glossary. */
const OUTCOME: Record<PendingOrder['status'], string> = {
  pending: 'waiting for its price',
  filled: 'filled on the follower',
  replaced: 'replaced by a market open',
  cancelled: 'deleted',
  expired: 'expired',
  failed: 'refused by the broker',
};

const FILTERS: readonly FilterField<'orderStatus'>[] = [
  { key: 'orderStatus', label: 'Order status', options: PENDING_ORDER_STATUSES },
];

/** The followers' copies of the master's pending orders, with their state. */
export function PendingOrders({
  filters,
  onChange,
}: {
  filters: { followerAccountId: string; groupId: string; orderStatus: string };
  onChange: (key: 'orderStatus', value: string) => void;
}) {
  const query: Record<string, string> = {};
  if (filters.followerAccountId) query['followerAccountId'] = filters.followerAccountId;
  if (filters.groupId) query['groupId'] = filters.groupId;
  if (filters.orderStatus) query['status'] = filters.orderStatus;
  const list = usePendingOrders(query);
  return (
    <section aria-labelledby="pending-orders-title">
      <h2 id="pending-orders-title">Pending orders</h2>
      <p className="muted">
        Each master pending order and the follower&apos;s own copy of it: placed, moved and deleted with the
        master&apos;s, until one of them fills.
      </p>
      <FilterBar fields={FILTERS} values={filters} onChange={onChange} />
      <ListTable
        list={list}
        testId="pending-orders-table"
        emptyText="No pending orders match."
        columns={[
          'follower',
          'master order',
          'symbol',
          'type',
          { label: 'price', num: true },
          { label: 'lots', num: true },
          { label: 'SL / TP', num: true },
          'ticket',
          'status',
          'expires',
          'placed',
        ]}
        row={(o) => (
          <tr key={`${o.groupId}|${o.followerAccountId}|${o.masterOrderId}`} data-testid="pending-order-row">
            <CopyCells copy={o} masterId={o.masterOrderId} />
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
        )}
      />
    </section>
  );
}
