import { Link } from 'react-router';
import { useCan } from '../../shared/auth/auth-context';
import { shortId } from '../../shared/lib/format';
import { SelectFilter, TextFilter, useUrlFilters } from '../../shared/ui/filters';
import { LoadMore, PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { SESSION_STATUSES, useSessions } from './api';
import { SessionActions } from './session-actions';

export function SessionsPage() {
  const [filters, setFilter] = useUrlFilters(['status', 'accountId'] as const);
  const canAct = useCan('operator');
  const list = useSessions(filters);
  return (
    <section>
      <PageHeader title="Sessions" />
      <div className="filters">
        <SelectFilter
          label="Status"
          value={filters.status}
          options={SESSION_STATUSES}
          onChange={(v) => setFilter('status', v)}
          testId="session-status-filter"
        />
        <TextFilter
          label="Account"
          value={filters.accountId}
          onChange={(v) => setFilter('accountId', v)}
          placeholder="exact account id"
        />
      </div>
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No sessions match."
      >
        <table className="table" data-testid="sessions-table">
          <thead>
            <tr>
              <th>account</th>
              <th>role</th>
              <th>status</th>
              <th>key</th>
              <th>terminal</th>
              <th>client</th>
              <th>created</th>
              <th>lease / ended</th>
              {canAct && <th>actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.items.map((s) => (
              <tr
                key={s.sessionId}
                data-testid="session-row"
                data-session-id={s.sessionId}
                data-account-id={s.accountId}
              >
                <td>
                  <Link to={`/accounts/${encodeURIComponent(s.accountId)}`}>{s.accountId}</Link>
                </td>
                <td>
                  {s.role} <span className="muted">{s.platform}</span>
                </td>
                <td>
                  <StatusBadge status={s.status} testId="session-status" />
                  {s.statusReason && <div className="muted small">{s.statusReason}</div>}
                </td>
                <td>
                  <code title={s.keyFingerprint}>{shortId(s.keyFingerprint, 8)}</code>
                </td>
                <td className="small">
                  EA {s.eaVersion ?? '?'} · build {s.terminalBuild ?? '?'}
                  {s.broker && (
                    <div className="muted">
                      {s.broker} {s.server}
                    </div>
                  )}
                </td>
                <td className="small">{s.clientIp ?? '—'}</td>
                <td>
                  <Time iso={s.createdAt} relative />
                </td>
                <td>
                  {s.endedAt ? <Time iso={s.endedAt} relative /> : <Time iso={s.leaseExpiresAt} relative />}
                </td>
                {canAct && (
                  <td>
                    <SessionActions session={s} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
        <LoadMore {...list} />
      </QueryState>
    </section>
  );
}
