import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useApi } from '../../shared/api/api-context';
import type { LoginResponse } from '@kopitra/contracts';
import { useSessionSnapshot, useSessionStore } from '../../shared/auth/auth-context';
import { ErrorNotice } from '../../shared/ui/error-notice';

export function LoginPage() {
  const api = useApi();
  const store = useSessionStore();
  const { session, notice } = useSessionSnapshot();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation({
    mutationFn: () => api.post<LoginResponse>('/api/auth/login', { email, password }),
    onSuccess: (r) => store.signIn({ token: r.token, expiresAt: r.expiresAt, user: r.user }),
  });

  if (session) return <Navigate to={from === '/login' ? '/' : from} replace />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };
  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Kopitra console</h1>
        <p className="muted">Sign in with your operator account.</p>
        {notice && !login.error && (
          <div className="notice notice-info" role="status" data-testid="login-notice">
            {notice}
          </div>
        )}
        <label className="field">
          <span>Email</span>
          <input
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            autoFocus
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <ErrorNotice error={login.error} />
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
