import { LoginRequest, PasswordChangeRequest, UserCreateRequest, UserPatchRequest } from '@kopitra/contracts';
import { clientIpOf } from '../../http/client-ip.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import {
  changeOperator,
  createOperator,
  listOperators,
  operatorProfile,
  signIn,
  signOut,
  snapshot,
} from '../../services/operators.js';
import { changeOwnPassword, resetOperatorPassword } from '../../services/passwords.js';
import { route } from '../registry.js';

export const authUserRoutes = (deps: ManagementDeps) => [
  route({
    method: 'POST',
    url: '/api/auth/login',
    role: 'public',
    tag: 'auth',
    summary: 'Sign in; returns a signed, expiring operator token',
    body: LoginRequest,
    handler: async ({ body, request }) => signIn(deps, body.email, body.password, clientIpOf(request)),
  }),
  route({
    method: 'GET',
    url: '/api/auth/me',
    role: 'viewer',
    tag: 'auth',
    summary: 'The signed-in operator',
    handler: async ({ operator }) => operatorProfile(deps, operator.userId),
  }),
  route({
    method: 'POST',
    url: '/api/auth/logout',
    role: 'viewer',
    tag: 'auth',
    summary: 'Sign out: revokes the token',
    handler: async ({ operator }) => signOut(deps, operator),
  }),
  route({
    method: 'POST',
    url: '/api/auth/password',
    role: 'viewer',
    tag: 'auth',
    summary: "Change the signed-in operator's own password; their other sessions are signed out",
    body: PasswordChangeRequest,
    handler: async ({ body, operator, request }) => {
      await changeOwnPassword(deps, operator, body.currentPassword, body.newPassword, clientIpOf(request));
      return { changed: true };
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/users',
    role: 'admin',
    tag: 'users',
    summary: 'Operator directory',
    handler: async () => ({ items: await listOperators(deps), nextCursor: null }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/users',
    role: 'admin',
    tag: 'users',
    summary: 'Create an operator; without a password, a one-time password is answered once',
    body: UserCreateRequest,
    status: 201,
    handler: async ({ body, operator }) => createOperator(deps, operator.email, body),
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/users/{userId}',
    role: 'admin',
    tag: 'users',
    summary: 'Change an operator: name, role, status, password',
    body: UserPatchRequest,
    handler: async ({ body, operator, params }) =>
      changeOperator(deps, operator.email, params['userId']!, body),
  }),
  route({
    method: 'POST',
    url: '/api/admin/users/{userId}/reset-password',
    role: 'admin',
    tag: 'users',
    summary: "Reset an operator's password: answers a one-time password once and signs them out everywhere",
    handler: async ({ operator, params }) => resetOperatorPassword(deps, operator, params['userId']!),
  }),
  route({
    method: 'GET',
    url: '/api/admin/snapshot',
    role: 'viewer',
    tag: 'snapshot',
    summary: 'Current user, operator directory and headline counts',
    handler: async ({ operator }) => snapshot(deps, operator),
  }),
];
