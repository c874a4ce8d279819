import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useSignOut } from '../features/auth/use-sign-out';
import { useApi } from '../shared/api/api-context';
import { resources } from '../shared/api/query-keys';
import type { Role, User } from '@kopitra/contracts';
import { useCan, useSession, useSessionStore } from '../shared/auth/auth-context';
import { useLiveStatus } from '../shared/sse/live-events';

/** Path, label, and the role a link needs (the API enforces the same). */
const NAV: Array<[string, string, Role?]> = [
  ['/', 'Dashboard'],
  ['/sessions', 'Sessions'],
  ['/accounts', 'Accounts'],
  ['/groups', 'Copy groups'],
  ['/orders', 'Orders'],
  ['/positions', 'Positions'],
  ['/analytics', 'Analytics'],
  ['/alerts', 'Alerts'],
  ['/tasks', 'Tasks'],
  ['/what-if', 'What-if'],
  ['/audit', 'Audit log'],
  ['/webhooks', 'Webhooks'],
  ['/operators', 'Operators', 'admin'],
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
  const isAdmin = useCan('admin');
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
  // Under the phone breakpoint the navigation is a drawer opened by the menu button; it
  // closes on navigation and on Escape. Above it, the drawer is the fixed sidebar.
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setMenuOpen(false), [location.pathname]);
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  const account = (where: 'topbar' | 'drawer') => (
    <div className={`account account-${where}`} data-testid={`account-${where}`}>
      {user && (
        <span className="who" data-testid={where === 'topbar' ? 'current-user' : undefined}>
          {user.displayName ?? user.email} <span className="role">{user.role}</span>
        </span>
      )}
      <NavLink to="/password" className="topbar-link">
        Password
      </NavLink>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );

  return (
    <div className={menuOpen ? 'shell menu-open' : 'shell'}>
      <aside className="sidebar" id="main-menu" data-testid="main-menu">
        <div className="brand">Kopitra</div>
        <nav aria-label="Main">
          {NAV.filter(([, , role]) => role !== 'admin' || isAdmin).map(([to, label]) => (
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
        {account('drawer')}
      </aside>
      {menuOpen && <div className="backdrop" aria-hidden onClick={() => setMenuOpen(false)} />}
      <div className="main">
        <header className="topbar">
          <button
            type="button"
            className="menu-button"
            aria-expanded={menuOpen}
            aria-controls="main-menu"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            <span aria-hidden>☰</span> Menu
          </button>
          <span className="brand-small">Kopitra</span>
          <span
            className={`live live-${live}`}
            data-testid="live-status"
            data-status={live}
            title="Live updates from the server"
          >
            <span className="dot" aria-hidden /> {LIVE_TEXT[live]}
          </span>
          <span className="spacer" />
          {account('topbar')}
        </header>
        <main className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
