import { useApi } from '../../shared/api/api-context';
import { useSessionStore } from '../../shared/auth/auth-context';

/** Revokes the token on the server, then forgets it — also when the server cannot be reached. */
export function useSignOut() {
  const api = useApi();
  const store = useSessionStore();
  return async () => {
    try {
      await api.post('/api/auth/logout');
    } catch {
      // An unreachable server or an already-dead token must not trap the operator signed in.
    }
    store.signOut('You signed out.');
  };
}
