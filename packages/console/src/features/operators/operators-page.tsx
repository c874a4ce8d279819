import { useState } from 'react';
import type { OneTimePassword, Role, User } from '@kopitra/contracts';
import { useCan, useSession } from '../../shared/auth/auth-context';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { CopyButton } from '../../shared/ui/copy-button';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useInviteOperator, useOperators, usePatchOperator, useResetPassword } from './api';

/** A password the API generated, shown once and never kept by the console. */
type IssuedPassword = Pick<OneTimePassword, 'email' | 'oneTimePassword'>;
const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** A password the API generated: shown this once; the console does not keep it. */
function PasswordPanel({ issued, onDismiss }: { issued: IssuedPassword; onDismiss(): void }) {
  return (
    <div className="notice notice-warn issued-key" role="alert" data-testid="one-time-password-panel">
      <strong>One-time password for {issued.email} — it will not be shown again.</strong>
      <p>Hand it over privately; they sign in with it and change it under Password.</p>
      <div className="key-row">
        <input
          readOnly
          value={issued.oneTimePassword}
          aria-label="One-time password"
          data-testid="one-time-password"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={issued.oneTimePassword} label="Copy password" />
      </div>
      <button type="button" onClick={onDismiss}>
        I have handed it over
      </button>
    </div>
  );
}

function InviteForm({ onIssued }: { onIssued(p: IssuedPassword): void }) {
  const invite = useInviteOperator();
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const issues = issuesByPath(invite.error);
  return (
    <form
      className="card form-grid"
      data-testid="invite-form"
      onSubmit={(e) => {
        e.preventDefault();
        invite.mutate(
          { email, role, ...(displayName.trim() ? { displayName: displayName.trim() } : {}) },
          {
            onSuccess: (user) => {
              if (user.oneTimePassword)
                onIssued({ email: user.email, oneTimePassword: user.oneTimePassword });
              setEmail('');
              setDisplayName('');
            },
          },
        );
      }}
    >
      <h2>Invite an operator</h2>
      <Field label="Email" issue={issues['email']}>
        <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </Field>
      <Field label="Name" hint="optional" issue={issues['displayName']}>
        <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      </Field>
      <Field label="Role" issue={issues['role']}>
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </Field>
      <ErrorNotice error={invite.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={invite.isPending}>
          {invite.isPending ? 'Inviting…' : 'Invite'}
        </button>
      </div>
    </form>
  );
}

function OperatorRow({
  user,
  self,
  onIssued,
}: {
  user: User;
  self: boolean;
  onIssued(p: IssuedPassword): void;
}) {
  const patch = usePatchOperator(user.userId);
  const reset = useResetPassword(user.userId);
  return (
    <tr data-testid="operator-row" data-email={user.email}>
      <td>
        {user.displayName ?? '—'}
        <div className="muted small">{user.email}</div>
      </td>
      <td>
        <select
          aria-label={`Role of ${user.email}`}
          value={user.role}
          disabled={patch.isPending}
          onChange={(e) => patch.mutate({ role: e.target.value as Role })}
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <ErrorNotice error={patch.error} />
      </td>
      <td>
        <StatusBadge status={user.status} />
      </td>
      <td className="small">
        <Time iso={user.lastLoginAt} relative />
      </td>
      <td className="actions">
        {user.status === 'active' ? (
          <ConfirmAction
            label="Disable"
            tone="danger"
            title={`Disable ${user.email}?`}
            confirmLabel="Disable"
            onConfirm={() => patch.mutateAsync({ status: 'disabled' })}
          >
            <p>They are signed out everywhere at once and cannot sign in until enabled again.</p>
          </ConfirmAction>
        ) : (
          <ConfirmAction
            label="Enable"
            title={`Enable ${user.email}?`}
            confirmLabel="Enable"
            onConfirm={() => patch.mutateAsync({ status: 'active' })}
          >
            <p>They may sign in again with their password.</p>
          </ConfirmAction>
        )}{' '}
        <ConfirmAction
          label="Reset password"
          title={`Reset the password of ${user.email}?`}
          confirmLabel="Reset password"
          onConfirm={async () => {
            const r = await reset.mutateAsync();
            onIssued({ email: r.email, oneTimePassword: r.oneTimePassword });
          }}
        >
          <p>
            A new one-time password replaces theirs{self ? '' : ' and they are signed out everywhere'}. It is
            shown to you once.
          </p>
        </ConfirmAction>
      </td>
    </tr>
  );
}

/** The operator directory: admins invite, change roles, disable and reset passwords. */
export function OperatorsPage() {
  const isAdmin = useCan('admin');
  const session = useSession();
  const list = useOperators();
  const [issued, setIssued] = useState<IssuedPassword | null>(null);
  if (!isAdmin)
    return (
      <section>
        <PageHeader title="Operators" />
        <p className="muted">The operator directory is for admins.</p>
      </section>
    );
  return (
    <section>
      <PageHeader title="Operators" />
      {issued && <PasswordPanel issued={issued} onDismiss={() => setIssued(null)} />}
      <InviteForm onIssued={setIssued} />
      <div className="card">
        <QueryState isPending={list.isPending} error={list.error} empty={list.data?.length === 0}>
          <table className="table" data-testid="operators-table">
            <thead>
              <tr>
                <th>operator</th>
                <th>role</th>
                <th>status</th>
                <th>last sign-in</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data?.map((u) => (
                <OperatorRow
                  key={u.userId}
                  user={u}
                  self={u.userId === session?.user.userId}
                  onIssued={setIssued}
                />
              ))}
            </tbody>
          </table>
        </QueryState>
      </div>
    </section>
  );
}
