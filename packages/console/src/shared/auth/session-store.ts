/**
 * The signed-in operator's session (token, expiry, user), persisted in localStorage so a
 * reload stays signed in. `notice` says why the console signed out, for the login page.
 */
import type { User } from '@kopitra/contracts';

export interface OperatorSession {
  token: string;
  expiresAt: string;
  user: User;
}

export interface SessionSnapshot {
  session: OperatorSession | null;
  notice: string | null;
}

export interface SessionStore {
  snapshot(): SessionSnapshot;
  token(): string | null;
  signIn(session: OperatorSession): void;
  updateUser(user: User): void;
  signOut(notice?: string): void;
  subscribe(listener: () => void): () => void;
}

const KEY = 'kopitra.session';

function load(storage: Storage): OperatorSession | null {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as OperatorSession;
    if (!s.token || !s.user || Date.parse(s.expiresAt) <= Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

export function createSessionStore(storage: Storage = window.localStorage): SessionStore {
  let state: SessionSnapshot = { session: load(storage), notice: null };
  const listeners = new Set<() => void>();
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;

  const set = (next: SessionSnapshot) => {
    state = next;
    if (next.session) storage.setItem(KEY, JSON.stringify(next.session));
    else storage.removeItem(KEY);
    scheduleExpiry();
    listeners.forEach((l) => l());
  };

  // The token's own expiry signs out even when the console makes no request.
  function scheduleExpiry() {
    clearTimeout(expiryTimer);
    const s = state.session;
    if (!s) return;
    const ms = Date.parse(s.expiresAt) - Date.now();
    // setTimeout overflows past ~24.8 days; such a token is re-checked by the API anyway.
    if (ms < 2 ** 31 - 1)
      expiryTimer = setTimeout(
        () => set({ session: null, notice: 'Your sign-in expired. Sign in again.' }),
        Math.max(0, ms),
      );
  }
  scheduleExpiry();

  // Another tab signing in or out.
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) set({ session: load(storage), notice: null });
  });

  return {
    snapshot: () => state,
    token: () => state.session?.token ?? null,
    signIn: (session) => set({ session, notice: null }),
    updateUser: (user) => {
      if (state.session && JSON.stringify(state.session.user) !== JSON.stringify(user))
        set({ session: { ...state.session, user }, notice: null });
    },
    signOut: (notice) => {
      if (state.session || notice !== state.notice) set({ session: null, notice: notice ?? null });
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
