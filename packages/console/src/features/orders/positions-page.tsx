import { Link } from 'react-router';
import { formatNumber } from '../../shared/lib/format';
import { SelectFilter, TextFilter, useUrlFilters } from '../../shared/ui/filters';
import { LoadMore, PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { POSITION_STATUSES, usePositions } from './api';
import { PendingOrders } from './pending-orders';

export function PositionsPage() {
  const [filters, set] = useUrlFilters(['status', 'followerAccountId', 'groupId', 'orderStatus'] as const);
  const { orderStatus, ...positionFilters } = filters;
  const list = usePositions(positionFilters);
  return (
    <section>
      <PageHeader title="Linked positions" />
      <p className="muted">Each master position and the follower ticket copying it.</p>
      <div className="filters">
        <SelectFilter
          label="Status"
          value={filters.status}
          options={POSITION_STATUSES}
          onChange={(v) => set('status', v)}
        />
        <TextFilter
          label="Follower"
          value={filters.followerAccountId}
          onChange={(v) => set('followerAccountId', v)}
        />
        <TextFilter label="Group" value={filters.groupId} onChange={(v) => set('groupId', v)} />
      </div>
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No positions match."
      >
        <table className="table" data-testid="positions-table">
          <thead>
            <tr>
              <th>follower</th>
              <th>master position</th>
              <th>symbol</th>
              <th>ticket</th>
              <th className="num">lots</th>
              <th className="num">master lots</th>
              <th className="num">SL / TP</th>
              <th>status</th>
              <th>opened</th>
              <th>closed</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((p) => (
              <tr
                key={`${p.groupId}|${p.followerAccountId}|${p.masterPositionId}`}
                data-testid="position-row"
              >
                <td>
                  <Link to={`/accounts/${encodeURIComponent(p.followerAccountId)}`}>
                    {p.followerAccountId}
                  </Link>
                </td>
                <td>
                  {p.masterAccountId} #{p.masterPositionId}
                </td>
                <td>
                  {p.symbol} <span className={`side side-${p.side}`}>{p.side}</span>
                </td>
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
            ))}
          </tbody>
        </table>
        <LoadMore {...list} />
      </QueryState>
      <PendingOrders filters={filters} status={orderStatus} onStatus={(v) => set('orderStatus', v)} />
    </section>
  );
}
