import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { useCreateGroup } from './api';

export function CreateGroupForm({ accountIds, onDone }: { accountIds: string[]; onDone(): void }) {
  const [name, setName] = useState('');
  const [master, setMaster] = useState('');
  const create = useCreateGroup();
  const navigate = useNavigate();
  const issues = issuesByPath(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), masterAccountId: master.trim() },
      {
        onSuccess: (g) => {
          onDone();
          navigate(`/groups/${encodeURIComponent(g.groupId)}`);
        },
      },
    );
  };
  return (
    <form className="card form" onSubmit={submit} data-testid="create-group-form" aria-label="New copy group">
      <h2>New copy group</h2>
      <div className="form-grid">
        <Field label="Name" issue={issues['name']}>
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required />
        </Field>
        <Field
          label="Master account"
          issue={issues['masterAccountId']}
          hint="The account whose trades are copied"
        >
          <input
            name="masterAccountId"
            list="master-candidates"
            value={master}
            onChange={(e) => setMaster(e.target.value)}
            required
          />
          <datalist id="master-candidates">
            {accountIds.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </Field>
      </div>
      <ErrorNotice error={create.error} />
      <div className="form-actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create group'}
        </button>
      </div>
    </form>
  );
}
