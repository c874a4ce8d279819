import { Link, Route, Routes } from 'react-router';
import { AccountPage } from '../features/accounts/account-page';
import { AccountsPage } from '../features/accounts/accounts-page';
import { AlertsPage } from '../features/alerts/alerts-page';
import { AnalyticsPage } from '../features/analytics/analytics-page';
import { AuditPage } from '../features/audit/audit-page';
import { LoginPage } from '../features/auth/login-page';
import { PasswordPage } from '../features/auth/password-page';
import { DashboardPage } from '../features/dashboard/dashboard-page';
import { GroupPage } from '../features/groups/group-page';
import { GroupsPage } from '../features/groups/groups-page';
import { OperatorsPage } from '../features/operators/operators-page';
import { OrdersPage } from '../features/orders/orders-page';
import { PositionsPage } from '../features/orders/positions-page';
import { SessionsPage } from '../features/sessions/sessions-page';
import { TasksPage } from '../features/tasks/tasks-page';
import { WhatIfPage } from '../features/what-if/what-if-page';
import { WebhooksPage } from '../features/webhooks/webhooks-page';
import { RequireAuth } from './require-auth';

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route element={<RequireAuth />}>
        <Route index element={<DashboardPage />} />
        <Route path="sessions" element={<SessionsPage />} />
        <Route path="accounts" element={<AccountsPage />} />
        <Route path="accounts/:accountId" element={<AccountPage />} />
        <Route path="groups" element={<GroupsPage />} />
        <Route path="groups/:groupId" element={<GroupPage />} />
        <Route path="orders" element={<OrdersPage />} />
        <Route path="positions" element={<PositionsPage />} />
        <Route path="analytics" element={<AnalyticsPage />} />
        <Route path="alerts" element={<AlertsPage />} />
        <Route path="tasks" element={<TasksPage />} />
        <Route path="what-if" element={<WhatIfPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="webhooks" element={<WebhooksPage />} />
        <Route path="operators" element={<OperatorsPage />} />
        <Route path="password" element={<PasswordPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        This page does not exist. <Link to="/">Back to the dashboard</Link>.
      </p>
    </section>
  );
}
