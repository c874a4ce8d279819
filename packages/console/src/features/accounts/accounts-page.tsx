import { useState } from 'react';
import { Link } from 'react-router';
import { useCan } from '../../shared/auth/auth-context';
import { ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
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
      <ListTable
        list={list}
        testId="accounts-table"
        emptyText="No accounts yet. Create one, or approve a terminal: its first session registers the account."
        columns={[
          'account',
          'name',
          'platform',
          'broker / server',
          'currency',
          'status',
          'second session',
          'registered by',
          'created',
        ]}
        row={(a) => (
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
        )}
      />
    </section>
  );
}
