import { useState } from 'react';
import { Link } from 'react-router';
import { useAccountIds } from '../../shared/api/use-account-ids';
import { useCan } from '../../shared/auth/auth-context';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useGroups } from './api';
import { CreateGroupForm } from './create-group-form';
import { SymbolSynonymsCard } from './symbol-synonyms-card';

export function GroupsPage() {
  const groups = useGroups();
  const canWrite = useCan('operator');
  const accountIds = useAccountIds();
  const [creating, setCreating] = useState(false);
  const items = groups.data?.items ?? [];
  return (
    <section>
      <PageHeader title="Copy groups">
        {canWrite && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New group
          </button>
        )}
      </PageHeader>
      {creating && <CreateGroupForm accountIds={accountIds.data ?? []} onDone={() => setCreating(false)} />}
      <QueryState
        isPending={groups.isPending}
        error={groups.error}
        empty={items.length === 0}
        emptyText="No copy groups yet: a group is one master account and its followers."
      >
        <table className="table" data-testid="groups-table">
          <thead>
            <tr>
              <th>group</th>
              <th>master</th>
              <th>followers</th>
              <th>status</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((g) => (
              <tr key={g.groupId} data-testid="group-row" data-group-id={g.groupId}>
                <td>
                  <Link to={`/groups/${encodeURIComponent(g.groupId)}`}>{g.name}</Link>{' '}
                  <span className="muted small">{g.groupId}</span>
                </td>
                <td>
                  <Link to={`/accounts/${encodeURIComponent(g.masterAccountId)}`}>{g.masterAccountId}</Link>
                </td>
                <td>
                  {(g.followers ?? []).map((f) => f.accountId).join(', ') || (
                    <span className="muted">none</span>
                  )}
                </td>
                <td>
                  <StatusBadge status={g.status} />
                </td>
                <td>
                  <Time iso={g.createdAt} relative />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </QueryState>
      <SymbolSynonymsCard />
    </section>
  );
}
