import { useState } from 'react';
import { Link } from 'react-router';
import { useCan } from '../../shared/auth/auth-context';
import { LoadMore, PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useAccounts } from './api';
import { CreateAccountForm } from './create-account-form';

export function AccountsPage() {
  const list = useAccounts();
  const canWrite = useCan('operator');
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <PageHeader title="Accounts">
        {canWrite && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New account
          </button>
        )}
      </PageHeader>
      {creating && <CreateAccountForm onDone={() => setCreating(false)} />}
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No accounts yet. Create one, or approve a terminal: its first session registers the account."
      >
        <table className="table" data-testid="accounts-table">
          <thead>
            <tr>
              <th>account</th>
              <th>name</th>
              <th>platform</th>
              <th>broker / server</th>
              <th>currency</th>
              <th>status</th>
              <th>second session</th>
              <th>registered by</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((a) => (
              <tr key={a.accountId} data-testid="account-row" data-account-id={a.accountId}>
                <td>
                  <Link to={`/accounts/${encodeURIComponent(a.accountId)}`}>{a.accountId}</Link>
                </td>
                <td>{a.displayName ?? <span className="muted">—</span>}</td>
                <td>{a.platform}</td>
                <td>
                  {a.broker ?? '—'}
                  {a.server && <span className="muted"> · {a.server}</span>}
                </td>
                <td>{a.currency ?? '—'}</td>
                <td>
                  <StatusBadge status={a.status} />
                </td>
                <td>{a.sessionPolicy}</td>
                <td className="small">{a.registeredBy ?? '—'}</td>
                <td>
                  <Time iso={a.createdAt} relative />
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
