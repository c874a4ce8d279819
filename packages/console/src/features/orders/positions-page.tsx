import { formatNumber } from '../../shared/lib/format';
import { FilterBar, type FilterField, useUrlFilters } from '../../shared/ui/filters';
import { ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { POSITION_STATUSES, usePositions } from './api';
import { PendingOrders } from './pending-orders';
import { CopyCells } from './copy-cells';

const FILTERS: readonly FilterField<'status' | 'followerAccountId' | 'groupId'>[] = [
  { key: 'status', label: 'Status', options: POSITION_STATUSES },
  { key: 'followerAccountId', label: 'Follower' },
  { key: 'groupId', label: 'Group' },
];

export function PositionsPage() {
  // The pending orders below share the follower and group filters and add their own status.
  const [filters, set] = useUrlFilters([...FILTERS.map((f) => f.key), 'orderStatus']);
  const { orderStatus: _pendingOnly, ...positionFilters } = filters;
  const list = usePositions(positionFilters);
  return (
    <section>
      <PageHeader title="Linked positions" />
      <p className="muted">Each master position and the follower ticket copying it.</p>
      <FilterBar fields={FILTERS} values={filters} onChange={set} />
      <ListTable
        list={list}
        testId="positions-table"
        emptyText="No positions match."
        columns={[
          'follower',
          'master position',
          'symbol',
          'ticket',
          { label: 'lots', num: true },
          { label: 'master lots', num: true },
          { label: 'SL / TP', num: true },
          'status',
          'opened',
          'closed',
        ]}
        row={(p) => (
          <tr key={`${p.groupId}|${p.followerAccountId}|${p.masterPositionId}`} data-testid="position-row">
            <CopyCells copy={p} masterId={p.masterPositionId} />
            <td>{p.ticket ?? '—'}</td>
            <td className="num">{formatNumber(p.openVolume)}</td>
            <td className="num">{formatNumber(p.masterVolume)}</td>
            <td className="num">
              {formatNumber(p.sl, 5)} / {formatNumber(p.tp, 5)}
            </td>
            <td>
              <StatusBadge status={p.status} />
            </td>
            <td>
              <Time iso={p.openedAt} />
            </td>
            <td>
              <Time iso={p.closedAt} />
            </td>
          </tr>
        )}
      />
      <PendingOrders filters={filters} onChange={set} />
    </section>
  );
}
