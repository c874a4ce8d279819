import { Navigate, useLocation } from 'react-router';
import { useSession } from '../shared/auth/auth-context';
import { Layout } from './layout';
import { LiveUpdates } from './live-updates';

/** Protected pages: signed out goes to the login page, which returns here after signing in. */
export function RequireAuth() {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return (
    <LiveUpdates token={session.token}>
      <Layout />
    </LiveUpdates>
  );
}
