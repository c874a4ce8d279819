import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { BrowserRouter } from 'react-router';
import { ApiProvider } from '../shared/api/api-context';
import { ApiError, createApiClient } from '../shared/api/client';
import { SessionProvider } from '../shared/auth/auth-context';
import { createSessionStore } from '../shared/auth/session-store';
import { AppRoutes } from './routes';

/** The composition root: session store, API client and query cache, wired once. */
function createConsole() {
  const store = createSessionStore();
  const queryClient = new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // A 4xx will not get better by asking again; network blips and 5xx may.
        retry: (count, err) =>
          !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      },
      mutations: { retry: false },
    },
  });
  const api = createApiClient({
    getToken: store.token,
    onSignedOut: (e) => store.signOut(`Signed out: ${e.message}`),
  });
  // The next operator to sign in must not see the previous one's cached data.
  store.subscribe(() => {
    if (!store.snapshot().session) setTimeout(() => queryClient.clear(), 0);
  });
  return { store, queryClient, api };
}

export function App() {
  const [{ store, queryClient, api }] = useState(createConsole);
  return (
    <SessionProvider store={store}>
      <ApiProvider client={api}>
        <QueryClientProvider client={queryClient}>
          <BrowserRouter>
            <AppRoutes />
          </BrowserRouter>
        </QueryClientProvider>
      </ApiProvider>
    </SessionProvider>
  );
}
