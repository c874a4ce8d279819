import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { useCreateAccount } from './api';

const blank = {
  accountId: '',
  displayName: '',
  platform: 'MT5' as 'MT4' | 'MT5',
  broker: '',
  server: '',
  // Shown and stored: a blank field stores no currency.
  currency: 'USD',
  sessionPolicy: 'reject' as 'reject' | 'takeover',
};
const opt = (v: string) => (v.trim() === '' ? undefined : v.trim());

export function CreateAccountForm({ onDone }: { onDone(): void }) {
  const [f, setF] = useState(blank);
  const create = useCreateAccount();
  const navigate = useNavigate();
  const issues = issuesByPath(create.error);
  const set = <K extends keyof typeof blank>(k: K, v: (typeof blank)[K]) =>
    setF((prev) => ({ ...prev, [k]: v }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        accountId: f.accountId.trim(),
        platform: f.platform,
        sessionPolicy: f.sessionPolicy,
        displayName: opt(f.displayName),
        broker: opt(f.broker),
        server: opt(f.server),
        currency: opt(f.currency),
      },
      {
        onSuccess: (a) => {
          onDone();
          navigate(`/accounts/${encodeURIComponent(a.accountId)}`);
        },
      },
    );
  };
  return (
    <form className="card form" onSubmit={submit} data-testid="create-account-form" aria-label="New account">
      <h2>New trading account</h2>
      <div className="form-grid">
        <Field
          label="Account id"
          issue={issues['accountId']}
          hint="The terminal's login, as the EA sends it in X-TradeAgent-Account"
        >
          <input
            name="accountId"
            value={f.accountId}
            onChange={(e) => set('accountId', e.target.value)}
            required
          />
        </Field>
        <Field label="Platform" issue={issues['platform']}>
          <select
            name="platform"
            value={f.platform}
            onChange={(e) => set('platform', e.target.value as 'MT4' | 'MT5')}
          >
            <option>MT5</option>
            <option>MT4</option>
          </select>
        </Field>
        <Field label="Display name" issue={issues['displayName']}>
          <input
            name="displayName"
            value={f.displayName}
            onChange={(e) => set('displayName', e.target.value)}
          />
        </Field>
        <Field label="Broker" issue={issues['broker']}>
          <input name="broker" value={f.broker} onChange={(e) => set('broker', e.target.value)} />
        </Field>
        <Field label="Server" issue={issues['server']}>
          <input name="server" value={f.server} onChange={(e) => set('server', e.target.value)} />
        </Field>
        <Field label="Currency" issue={issues['currency']}>
          <input name="currency" value={f.currency} onChange={(e) => set('currency', e.target.value)} />
        </Field>
        <Field
          label="Second session"
          issue={issues['sessionPolicy']}
          hint="What happens when a terminal connects while another session of this account is live"
        >
          <select
            name="sessionPolicy"
            value={f.sessionPolicy}
            onChange={(e) => set('sessionPolicy', e.target.value as 'reject' | 'takeover')}
          >
            <option value="reject">reject the newcomer</option>
            <option value="takeover">take over (same key only)</option>
          </select>
        </Field>
      </div>
      <ErrorNotice error={create.error} />
      <div className="form-actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create account'}
        </button>
      </div>
    </form>
  );
}
