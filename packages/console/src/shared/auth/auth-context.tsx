import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { Role } from '@kopitra/contracts';
import type { OperatorSession, SessionSnapshot, SessionStore } from './session-store';

const SessionContext = createContext<SessionStore | null>(null);

export function SessionProvider({ store, children }: { store: SessionStore; children: ReactNode }) {
  return <SessionContext.Provider value={store}>{children}</SessionContext.Provider>;
}

export function useSessionStore(): SessionStore {
  const store = useContext(SessionContext);
  if (!store) throw new Error('useSessionStore outside <SessionProvider>');
  return store;
}

export function useSessionSnapshot(): SessionSnapshot {
  const store = useSessionStore();
  return useSyncExternalStore(store.subscribe, store.snapshot);
}

export const useSession = (): OperatorSession | null => useSessionSnapshot().session;

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether the signed-in operator's role reaches `role` (the API enforces the same rule). */
export function useCan(role: Role): boolean {
  const session = useSession();
  return session !== null && rank[session.user.role] >= rank[role];
}
