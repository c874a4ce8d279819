import {
  GroupPatchRequest,
  GroupRequest,
  ListQuery,
  SubscriptionSettings,
  SymbolSynonymsRequest,
} from '@kopitra/contracts';
import {
  changeGroup,
  createGroup,
  deleteGroup,
  groupDetail,
  listGroups,
  subscribe,
  unsubscribe,
} from '../../services/groups.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import {
  resetSymbolSynonyms,
  setSymbolSynonyms,
  symbolResolution,
  symbolSynonyms,
} from '../../services/symbols.js';
import { route } from '../registry.js';

export const groupRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/groups',
    role: 'viewer',
    tag: 'groups',
    summary: 'Copy groups with their followers',
    query: ListQuery,
    handler: async () => ({ items: await listGroups(deps), nextCursor: null }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/groups',
    role: 'operator',
    tag: 'groups',
    summary: 'Create a copy group for a master account',
    body: GroupRequest,
    status: 201,
    handler: async ({ body, operator }) => createGroup(deps, operator.email, body),
  }),
  route({
    method: 'GET',
    url: '/api/admin/groups/{groupId}',
    role: 'viewer',
    tag: 'groups',
    summary: 'One copy group and its subscriptions',
    handler: async ({ params }) => groupDetail(deps, params['groupId']!),
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/groups/{groupId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Rename, pause or resume a group',
    body: GroupPatchRequest,
    handler: async ({ body, params, operator }) =>
      changeGroup(deps, operator.email, params['groupId']!, body),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/groups/{groupId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Delete a group and its subscriptions (copied positions stay open)',
    handler: async ({ params, operator }) => deleteGroup(deps, operator.email, params['groupId']!),
  }),
  route({
    method: 'PUT',
    url: '/api/admin/groups/{groupId}/followers/{accountId}',
    role: 'operator',
    tag: 'groups',
    summary: "Subscribe a follower, or replace its subscription's settings",
    body: SubscriptionSettings,
    handler: async ({ body, params, operator }) =>
      subscribe(deps, operator.email, params['groupId']!, params['accountId']!, body),
  }),
  route({
    method: 'GET',
    url: '/api/admin/groups/{groupId}/followers/{accountId}/symbols',
    role: 'viewer',
    tag: 'groups',
    summary: "How each master symbol resolves to the follower's, and which resolve to nothing",
    handler: async ({ params }) => symbolResolution(deps, params['groupId']!, params['accountId']!),
  }),
  route({
    method: 'GET',
    url: '/api/admin/symbol-synonyms',
    role: 'viewer',
    tag: 'groups',
    summary: 'Symbol synonym groups used by automatic symbol resolution (built in until replaced)',
    handler: async () => symbolSynonyms(deps),
  }),
  route({
    method: 'PUT',
    url: '/api/admin/symbol-synonyms',
    role: 'operator',
    tag: 'groups',
    summary: "Replace the deployment's symbol synonym groups",
    body: SymbolSynonymsRequest,
    handler: async ({ body, operator }) => setSymbolSynonyms(deps, operator.email, body),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/symbol-synonyms',
    role: 'operator',
    tag: 'groups',
    summary: 'Go back to the built-in symbol synonym groups',
    handler: async ({ operator }) => resetSymbolSynonyms(deps, operator.email),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/groups/{groupId}/followers/{accountId}',
    role: 'operator',
    tag: 'groups',
    summary: 'Unsubscribe a follower (copied positions stay open)',
    handler: async ({ params, operator }) =>
      unsubscribe(deps, operator.email, params['groupId']!, params['accountId']!),
  }),
];
