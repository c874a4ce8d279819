import { useState, type FormEvent } from 'react';
import type { Account } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { usePatchAccount } from './api';

/** Details and the session policy; only changed fields are sent. */
export function AccountSettings({ account }: { account: Account }) {
  const canWrite = useCan('operator');
  const patch = usePatchAccount(account.accountId);
  const initial = {
    displayName: account.displayName ?? '',
    broker: account.broker ?? '',
    server: account.server ?? '',
    currency: account.currency ?? '',
    sessionPolicy: account.sessionPolicy,
  };
  const [f, setF] = useState(initial);
  const [saved, setSaved] = useState(false);
  const issues = issuesByPath(patch.error);
  const changed = (Object.keys(initial) as Array<keyof typeof initial>).filter((k) => f[k] !== initial[k]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    patch.mutate(Object.fromEntries(changed.map((k) => [k, f[k]])), { onSuccess: () => setSaved(true) });
  };
  const input = (k: 'displayName' | 'broker' | 'server' | 'currency', label: string) => (
    <Field label={label} issue={issues[k]}>
      <input
        name={k}
        value={f[k]}
        disabled={!canWrite}
        onChange={(e) => setF({ ...f, [k]: e.target.value })}
      />
    </Field>
  );
  return (
    <form className="card form" onSubmit={submit} aria-label="Account settings">
      <h2>Settings</h2>
      <div className="form-grid">
        {input('displayName', 'Display name')}
        {input('broker', 'Broker')}
        {input('server', 'Server')}
        {input('currency', 'Currency')}
        <Field
          label="Session policy"
          issue={issues['sessionPolicy']}
          hint="reject: a second terminal is refused while one is live; takeover: the same key replaces the live session"
        >
          <select
            name="sessionPolicy"
            value={f.sessionPolicy}
            disabled={!canWrite}
            onChange={(e) => setF({ ...f, sessionPolicy: e.target.value as Account['sessionPolicy'] })}
            data-testid="session-policy"
          >
            <option value="reject">reject</option>
            <option value="takeover">takeover</option>
          </select>
        </Field>
      </div>
      <ErrorNotice error={patch.error} />
      {saved && changed.length === 0 && (
        <p className="notice notice-ok" role="status">
          Saved.
        </p>
      )}
      {canWrite && (
        <div className="form-actions">
          <button type="submit" className="primary" disabled={patch.isPending || changed.length === 0}>
            {patch.isPending ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      )}
    </form>
  );
}
