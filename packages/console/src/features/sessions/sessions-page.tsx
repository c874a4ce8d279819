import { Link } from 'react-router';
import { useCan } from '../../shared/auth/auth-context';
import { shortId } from '../../shared/lib/format';
import { FilterBar, type FilterField, useUrlFilters } from '../../shared/ui/filters';
import { ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { SESSION_STATUSES, useSessions } from './api';
import { SessionActions } from './session-actions';

const FILTERS: readonly FilterField<'status' | 'accountId'>[] = [
  { key: 'status', label: 'Status', options: SESSION_STATUSES, testId: 'session-status-filter' },
  { key: 'accountId', label: 'Account', placeholder: 'exact account id' },
];

export function SessionsPage() {
  const [filters, setFilter] = useUrlFilters(FILTERS.map((f) => f.key));
  const canAct = useCan('operator');
  const list = useSessions(filters);
  return (
    <section>
      <PageHeader title="Sessions" />
      <FilterBar fields={FILTERS} values={filters} onChange={setFilter} />
      <ListTable
        list={list}
        testId="sessions-table"
        emptyText="No sessions match."
        columns={[
          'account',
          'role',
          'status',
          'key',
          'terminal',
          'client',
          'created',
          'lease / ended',
          canAct && 'actions',
        ]}
        row={(s) => (
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
        )}
      />
    </section>
  );
}
