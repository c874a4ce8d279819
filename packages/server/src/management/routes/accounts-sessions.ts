import {
  AccountPatchRequest,
  AccountRequest,
  ApproveRequest,
  KeyCreateRequest,
  ListQuery,
  ManualOrderRequest,
  ManualOrdersQuery,
  ReasonRequest,
  SessionsQuery,
} from '@kopitra/contracts';
import {
  accountDetail,
  accountKeys,
  changeAccount,
  createAccount,
  issueKey,
  listAccounts,
  revokeKey,
} from '../../services/accounts.js';
import { idempotencyKeyOf } from '../../http/ea-headers.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { listManualOrders, queueManualOrder } from '../../services/manual-orders.js';
import { revokeSignalSecret, rotateSignalSecret } from '../../services/signal-sources.js';
import { decideSession, listSessions, terminateSession } from '../../services/session-control.js';
import { route } from '../registry.js';

export const accountSessionRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/accounts',
    role: 'viewer',
    tag: 'accounts',
    summary: 'Trading accounts',
    query: ListQuery,
    handler: async ({ query }) => listAccounts(deps, query),
  }),
  route({
    method: 'POST',
    url: '/api/admin/accounts',
    role: 'operator',
    tag: 'accounts',
    summary: 'Create a trading account',
    body: AccountRequest,
    status: 201,
    handler: async ({ body, operator }) => createAccount(deps, operator.email, body),
  }),
  route({
    method: 'GET',
    url: '/api/admin/accounts/{accountId}',
    role: 'viewer',
    tag: 'accounts',
    summary: 'One account with its telemetry, keys and live session',
    handler: async ({ params }) => accountDetail(deps, params['accountId']!),
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/accounts/{accountId}',
    role: 'operator',
    tag: 'accounts',
    summary: 'Change an account (status, session policy, details)',
    body: AccountPatchRequest,
    handler: async ({ body, params, operator }) =>
      changeAccount(deps, operator.email, params['accountId']!, body),
  }),
  route({
    method: 'GET',
    url: '/api/admin/accounts/{accountId}/keys',
    role: 'viewer',
    tag: 'accounts',
    summary: "An account's keys (fingerprints only)",
    handler: async ({ params }) => ({
      items: await accountKeys(deps, params['accountId']!),
      nextCursor: null,
    }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/accounts/{accountId}/keys',
    role: 'operator',
    tag: 'accounts',
    summary: 'Issue a pre-shared key; it is shown once',
    body: KeyCreateRequest,
    status: 201,
    handler: async ({ body, params, operator }) => issueKey(deps, operator.email, params['accountId']!, body),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/accounts/{accountId}/keys/{fingerprint}',
    role: 'operator',
    tag: 'accounts',
    summary: 'Revoke a key; sessions using it end',
    handler: async ({ params, operator }) =>
      revokeKey(deps, operator.email, params['accountId']!, params['fingerprint']!),
  }),
  route({
    method: 'POST',
    url: '/api/admin/accounts/{accountId}/signal-secret',
    role: 'admin',
    tag: 'accounts',
    summary: 'Create or rotate the secret of external signals (a virtual master); it is shown once',
    status: 201,
    handler: async ({ params, operator }) => rotateSignalSecret(deps, operator.email, params['accountId']!),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/accounts/{accountId}/signal-secret',
    role: 'admin',
    tag: 'accounts',
    summary: 'Stop taking external signals for this account',
    handler: async ({ params, operator }) => revokeSignalSecret(deps, operator.email, params['accountId']!),
  }),
  route({
    method: 'GET',
    url: '/api/admin/sessions',
    role: 'viewer',
    tag: 'sessions',
    summary: 'Terminal sessions (filter by status, account)',
    query: SessionsQuery,
    handler: async ({ query }) => listSessions(deps, query),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/approve',
    role: 'operator',
    tag: 'sessions',
    summary: "Approve the terminal's key (AuthApproval on the bus)",
    body: ApproveRequest,
    handler: async ({ body, params, operator }) =>
      decideSession(deps, operator.email, params['sessionId']!, {
        approve: true,
        expiresAt: body.expiresAt ?? null,
      }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/reject',
    role: 'operator',
    tag: 'sessions',
    summary: "Reject the terminal's key (AuthReject on the bus)",
    body: ReasonRequest,
    handler: async ({ body, params, operator }) =>
      decideSession(deps, operator.email, params['sessionId']!, { approve: false, reason: body.reason }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/terminate',
    role: 'operator',
    tag: 'sessions',
    summary: 'End a live session; its EA receives session.shutdown',
    body: ReasonRequest,
    handler: async ({ body, params, operator }) =>
      terminateSession(deps, operator.email, params['sessionId']!, body.reason),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/orders',
    role: 'operator',
    tag: 'sessions',
    summary: 'Queue a manual order (order.command) to a live session; needs an Idempotency-Key header',
    body: ManualOrderRequest,
    status: 202,
    handler: async ({ body, params, operator, request }) => {
      const result = await queueManualOrder(deps.gateway, {
        sessionId: params['sessionId']!,
        operator: operator.email,
        idempotencyKey: idempotencyKeyOf(request),
        request: body,
      });
      return result.body;
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/manual-orders',
    role: 'viewer',
    tag: 'orders',
    summary: 'Manual orders, newest first, with delivery and the outcome the terminal reported',
    query: ManualOrdersQuery,
    handler: async ({ query }) => ({
      items: await listManualOrders(deps, { accountId: query.accountId, limit: query.limit }),
      nextCursor: null,
    }),
  }),
];
