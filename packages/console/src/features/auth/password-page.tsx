import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useApi } from '../../shared/api/api-context';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field } from '../../shared/ui/field';
import { PageHeader } from '../../shared/ui/states';

/** The signed-in operator changes their own password (the first admin's one-time one, above all). */
export function PasswordPage() {
  const api = useApi();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const change = useMutation({
    mutationFn: () =>
      api.post<{ changed: boolean }>('/api/auth/password', { currentPassword: current, newPassword: next }),
    onSuccess: () => {
      setCurrent('');
      setNext('');
      setRepeat('');
    },
  });
  const mismatch = repeat !== '' && repeat !== next;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!mismatch) change.mutate();
  };
  return (
    <section>
      <PageHeader title="Change your password" />
      <form className="card form narrow" onSubmit={submit} data-testid="password-form">
        <p className="muted">
          At least 12 characters. Your other signed-in browsers and scripts are signed out; this one stays
          signed in.
        </p>
        <Field label="Current password">
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            required
          />
        </Field>
        <Field label="New password">
          <input
            type="password"
            autoComplete="new-password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            minLength={12}
            required
          />
        </Field>
        <Field label="Repeat the new password" issue={mismatch ? 'The two new passwords differ.' : undefined}>
          <input
            type="password"
            autoComplete="new-password"
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            required
          />
        </Field>
        <ErrorNotice error={change.error} />
        {change.isSuccess && (
          <div className="notice notice-info" role="status" data-testid="password-changed">
            Password changed.
          </div>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={change.isPending || mismatch}>
            {change.isPending ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </section>
  );
}
