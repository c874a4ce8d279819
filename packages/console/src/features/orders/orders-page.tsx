import { SelectFilter, TextFilter, useUrlFilters } from '../../shared/ui/filters';
import { LoadMore, PageHeader, QueryState } from '../../shared/ui/states';
import { ORDER_KINDS, ORDER_STATUSES, useOrders } from './api';
import { ManualOrdersTable } from './manual-orders';
import { OrderRow } from './order-row';

const COLUMNS = [
  'written',
  'follower',
  'kind',
  'symbol',
  'lots',
  'status',
  'master price',
  'fill price',
  'slippage pts',
  'latency',
];

export function OrdersPage() {
  const [filters, set] = useUrlFilters([
    'status',
    'kind',
    'followerAccountId',
    'masterAccountId',
    'groupId',
    'signalId',
    'dealTicket',
  ] as const);
  const list = useOrders(filters);
  return (
    <section>
      <PageHeader title="Copy orders" />
      <div className="filters">
        <SelectFilter
          label="Status"
          value={filters.status}
          options={ORDER_STATUSES}
          onChange={(v) => set('status', v)}
          testId="order-status-filter"
        />
        <SelectFilter
          label="Kind"
          value={filters.kind}
          options={ORDER_KINDS}
          onChange={(v) => set('kind', v)}
        />
        <TextFilter
          label="Follower"
          value={filters.followerAccountId}
          onChange={(v) => set('followerAccountId', v)}
        />
        <TextFilter
          label="Master"
          value={filters.masterAccountId}
          onChange={(v) => set('masterAccountId', v)}
        />
        <TextFilter label="Group" value={filters.groupId} onChange={(v) => set('groupId', v)} />
        <TextFilter
          label="Signal"
          value={filters.signalId}
          onChange={(v) => set('signalId', v)}
          placeholder="master's signalId or sig_…"
          testId="order-signal-filter"
        />
        <TextFilter
          label="Deal ticket"
          value={filters.dealTicket}
          onChange={(v) => set('dealTicket', v)}
          testId="order-deal-filter"
        />
      </div>
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No copy orders match."
      >
        <table className="table" data-testid="orders-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c}
                  className={
                    ['lots', 'master price', 'fill price', 'slippage pts', 'latency'].includes(c)
                      ? 'num'
                      : undefined
                  }
                >
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {list.items.map((o) => (
              <OrderRow key={o.orderId} o={o} columns={COLUMNS.length} />
            ))}
          </tbody>
        </table>
        <LoadMore {...list} />
      </QueryState>
      <div className="card">
        <h2>Manual orders</h2>
        <ManualOrdersTable />
      </div>
    </section>
  );
}
