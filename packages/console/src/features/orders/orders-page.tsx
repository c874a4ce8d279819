import { FilterBar, type FilterField, useUrlFilters } from '../../shared/ui/filters';
import { type Column, ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
import { ORDER_KINDS, ORDER_STATUSES, useOrders } from './api';
import { ManualOrdersTable } from './manual-orders';
import { OrderRow } from './order-row';

const COLUMNS: readonly Column[] = [
  'written',
  'follower',
  'kind',
  'symbol',
  { label: 'lots', num: true },
  'status',
  { label: 'master price', num: true },
  { label: 'fill price', num: true },
  { label: 'slippage pts', num: true },
  { label: 'latency', num: true },
];

type Filter =
  'status' | 'kind' | 'followerAccountId' | 'masterAccountId' | 'groupId' | 'signalId' | 'dealTicket';

const FILTERS: readonly FilterField<Filter>[] = [
  { key: 'status', label: 'Status', options: ORDER_STATUSES, testId: 'order-status-filter' },
  { key: 'kind', label: 'Kind', options: ORDER_KINDS },
  { key: 'followerAccountId', label: 'Follower' },
  { key: 'masterAccountId', label: 'Master' },
  { key: 'groupId', label: 'Group' },
  {
    key: 'signalId',
    label: 'Signal',
    placeholder: "master's signalId or sig_…",
    testId: 'order-signal-filter',
  },
  { key: 'dealTicket', label: 'Deal ticket', testId: 'order-deal-filter' },
];

export function OrdersPage() {
  const [filters, set] = useUrlFilters(FILTERS.map((f) => f.key));
  const list = useOrders(filters);
  return (
    <section>
      <PageHeader title="Copy orders" />
      <FilterBar fields={FILTERS} values={filters} onChange={set} />
      <ListTable
        list={list}
        testId="orders-table"
        emptyText="No copy orders match."
        columns={COLUMNS}
        row={(o) => <OrderRow key={o.orderId} o={o} columns={COLUMNS.length} />}
      />
      <div className="card">
        <h2>Manual orders</h2>
        <ManualOrdersTable />
      </div>
    </section>
  );
}
