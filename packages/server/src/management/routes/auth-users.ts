import {
  AppError,
  LoginRequest,
  PasswordChangeRequest,
  UserCreateRequest,
  UserPatchRequest,
} from '@kopitra/contracts';
import { clientIpOf } from '../../http/client-ip.js';
import { isUniqueViolation } from '../../store/database.js';
import { inTransaction } from '../../store/transaction.js';
import { appendAudit } from '../../services/audit.js';
import { hashPassword, insertUser, login, revoke, type UserRow } from '../../services/operators.js';
import { userView } from '../../services/views.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { changeOwnPassword } from '../../services/passwords.js';
import { route } from '../registry.js';

export const authUserRoutes = (deps: ManagementDeps) => [
  route({
    method: 'POST',
    url: '/api/auth/login',
    role: 'public',
    tag: 'auth',
    summary: 'Sign in; returns a signed, expiring operator token',
    body: LoginRequest,
    handler: async ({ body, request }) => {
      const { token, expiresAt, user } = await login(deps, body.email, body.password, clientIpOf(request));
      await appendAudit(
        deps.db,
        { actor: user.email, action: 'auth.login', targetType: 'user', targetId: user.user_id },
        deps.clock.now(),
      );
      return { token, expiresAt: new Date(expiresAt).toISOString(), user: userView(user) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/auth/me',
    role: 'viewer',
    tag: 'auth',
    summary: 'The signed-in operator',
    handler: async ({ operator }) => {
      const user = await deps.db
        .selectFrom('users')
        .selectAll()
        .where('user_id', '=', operator.userId)
        .executeTakeFirstOrThrow();
      return userView(user);
    },
  }),
  route({
    method: 'POST',
    url: '/api/auth/logout',
    role: 'viewer',
    tag: 'auth',
    summary: 'Sign out: revokes the token',
    handler: async ({ operator }) => {
      await revoke(deps, operator.tokenId);
      await appendAudit(
        deps.db,
        { actor: operator.email, action: 'auth.logout', targetType: 'user', targetId: operator.userId },
        deps.clock.now(),
      );
      return { signedOut: true };
    },
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
    handler: async () => ({
      items: (await deps.db.selectFrom('users').selectAll().orderBy('created_at').execute()).map(userView),
      nextCursor: null,
    }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/users',
    role: 'admin',
    tag: 'users',
    summary: 'Create an operator',
    body: UserCreateRequest,
    status: 201,
    handler: async ({ body, operator }) => {
      try {
        return await inTransaction(
          deps.db,
          async ({ trx }) => {
            const user = await insertUser(trx, body, deps.clock.now());
            await appendAudit(
              trx,
              {
                actor: operator.email,
                action: 'user.create',
                targetType: 'user',
                targetId: user.user_id,
                after: userView(user),
              },
              deps.clock.now(),
            );
            return userView(user);
          },
          0,
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('email_taken');
        throw err;
      }
    },
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/users/{userId}',
    role: 'admin',
    tag: 'users',
    summary: 'Change an operator: name, role, status, password',
    body: UserPatchRequest,
    handler: async ({ body, operator, params }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const before = await trx
          .selectFrom('users')
          .selectAll()
          .where('user_id', '=', params['userId']!)
          .executeTakeFirst();
        if (!before) throw new AppError('user_not_found');
        const demotes = (body.role !== undefined && body.role !== 'admin') || body.status === 'disabled';
        if (before.role === 'admin' && demotes) {
          const admins = await trx
            .selectFrom('users')
            .select('user_id')
            .where('role', '=', 'admin')
            .where('status', '=', 'active')
            .execute();
          if (admins.length <= 1) throw new AppError('last_admin');
        }
        const now = deps.clock.now();
        const patch: Partial<UserRow> = {
          ...(body.displayName !== undefined ? { display_name: body.displayName } : {}),
          ...(body.role !== undefined ? { role: body.role } : {}),
          ...(body.status !== undefined ? { status: body.status } : {}),
          ...(body.password !== undefined ? { password_hash: await hashPassword(body.password) } : {}),
          updated_at: now,
        };
        const after = await trx
          .updateTable('users')
          .set(patch)
          .where('user_id', '=', before.user_id)
          .returningAll()
          .executeTakeFirstOrThrow();
        // A disabled operator or a changed password signs out everywhere.
        if (body.status === 'disabled' || body.password !== undefined) {
          await trx
            .updateTable('operator_tokens')
            .set({ revoked_at: now })
            .where('user_id', '=', before.user_id)
            .where('revoked_at', 'is', null)
            .execute();
        }
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'user.update',
            targetType: 'user',
            targetId: before.user_id,
            before: userView(before),
            after: userView(after),
          },
          now,
        );
        return userView(after);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/snapshot',
    role: 'viewer',
    tag: 'snapshot',
    summary: 'Current user, operator directory and headline counts',
    handler: async ({ operator }) => {
      const db = deps.db;
      const count = async (q: Promise<{ n: number | string | bigint }>) => Number((await q).n);
      const since = deps.clock.now() - 86_400_000;
      const [me, users, accounts, online, pending, alerts, groups, orders24h, failed24h] = await Promise.all([
        db.selectFrom('users').selectAll().where('user_id', '=', operator.userId).executeTakeFirstOrThrow(),
        db.selectFrom('users').selectAll().orderBy('created_at').execute(),
        count(
          db
            .selectFrom('accounts')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('sessions')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', 'authenticated')
            .where('lease_expires_at', '>', deps.clock.now())
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('sessions')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', 'pending')
            .where('lease_expires_at', '>', deps.clock.now())
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('alerts')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('acked_at', 'is', null)
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('copy_groups')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('copy_orders')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('written_at', '>=', since)
            .executeTakeFirstOrThrow(),
        ),
        count(
          db
            .selectFrom('copy_orders')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('written_at', '>=', since)
            .where('status', 'in', ['rejected', 'failed', 'expired'])
            .executeTakeFirstOrThrow(),
        ),
      ]);
      return {
        user: userView(me),
        operators:
          operator.role === 'admin'
            ? users.map(userView)
            : users.map((u) => ({ userId: u.user_id, displayName: u.display_name, role: u.role })),
        counts: {
          accounts,
          sessionsOnline: online,
          pendingApprovals: pending,
          openAlerts: alerts,
          groups,
          copyOrders24h: orders24h,
          failedOrders24h: failed24h,
        },
      };
    },
  }),
];
