import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useSignOut } from '../features/auth/use-sign-out';
import { useApi } from '../shared/api/api-context';
import { resources } from '../shared/api/query-keys';
import type { User } from '../shared/api/types';
import { useSession, useSessionStore } from '../shared/auth/auth-context';
import { useLiveStatus } from '../shared/sse/live-events';

const NAV: Array<[string, string]> = [
  ['/', 'Dashboard'],
  ['/sessions', 'Sessions'],
  ['/accounts', 'Accounts'],
  ['/groups', 'Copy groups'],
  ['/orders', 'Orders'],
  ['/positions', 'Positions'],
  ['/alerts', 'Alerts'],
  ['/tasks', 'Tasks'],
  ['/audit', 'Audit log'],
];

const LIVE_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'offline',
} as const;

export function Layout() {
  const session = useSession();
  const store = useSessionStore();
  const api = useApi();
  const signOut = useSignOut();
  const live = useLiveStatus();
  // Re-reads the operator (role changes, disabled users) and validates a token kept from a previous visit.
  const me = useQuery({
    queryKey: [resources.me],
    queryFn: () => api.get<User>('/api/auth/me'),
    staleTime: 60_000,
  });
  useEffect(() => {
    if (me.data) store.updateUser(me.data);
  }, [me.data, store]);

  const user = session?.user;
  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">Kopitra</div>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <NavLink
              key={to}
              to={to}
              end={to === '/'}
              className={({ isActive }) => (isActive ? 'active' : undefined)}
            >
              {label}
            </NavLink>
          ))}
        </nav>
      </aside>
      <div className="main">
        <header className="topbar">
          <span
            className={`live live-${live}`}
            data-testid="live-status"
            data-status={live}
            title="Live updates from the server"
          >
            <span className="dot" aria-hidden /> {LIVE_TEXT[live]}
          </span>
          <span className="spacer" />
          {user && (
            <span className="who" data-testid="current-user">
              {user.displayName ?? user.email} <span className="role">{user.role}</span>
            </span>
          )}
          <NavLink to="/password" className="topbar-link">
            Password
          </NavLink>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </header>
        <main className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
