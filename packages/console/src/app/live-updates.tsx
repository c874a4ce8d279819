/**
 * One EventSource per signed-in session. Each event invalidates the react-query caches it
 * makes stale (batched, so a burst of copy orders is one refetch), and is handed to features
 * that want the payload itself (task progress).
 */
import type { ManagementResponses } from '@kopitra/contracts';
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useApi } from '../shared/api/api-context';
import { resources as r } from '../shared/api/query-keys';
import { LiveEventsProvider } from '../shared/sse/live-events';
import { openLiveStream, type LiveEvent, type LiveStatus } from '../shared/sse/live-stream';

type StreamTicket = ManagementResponses['POST /api/admin/stream/ticket'];

const FINISHED = new Set(['completed', 'failed']);

/** What each stream event makes stale. */
export function staleKeys(e: LiveEvent): QueryKey[] {
  switch (e.type) {
    case 'session.state_changed':
      return [[r.sessions], [r.snapshot], [r.accounts], [r.audit]];
    case 'session.forbidden_attempt':
      return [[r.audit]];
    case 'ea.inbox':
      return typeof e.data['accountId'] === 'string' ? [[r.accounts, 'detail', e.data['accountId']]] : [];
    case 'signal.accepted':
    case 'copy_order.updated':
      return [[r.orders], [r.positions], [r.snapshot], [r.analytics]];
    case 'order.command_queued':
      return [[r.orders]];
    case 'alert.raised':
      return [[r.alerts], [r.stopouts], [r.snapshot], [r.audit]];
    case 'group.membership_changed':
      return [[r.groups], [r.audit]];
    case 'task.progress':
      // A finished task may have paused a group, queued closes or written the audit log.
      return FINISHED.has(String(e.data['status']))
        ? [[r.tasks], [r.audit], [r.groups], [r.orders], [r.positions]]
        : [[r.tasks]];
    default:
      return [];
  }
}

function batchedInvalidator(client: QueryClient, delayMs: number) {
  const pending = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    add(keys: QueryKey[]) {
      for (const k of keys) pending.set(JSON.stringify(k), k);
      timer ??= setTimeout(() => {
        timer = undefined;
        const keysNow = [...pending.values()];
        pending.clear();
        for (const queryKey of keysNow) void client.invalidateQueries({ queryKey });
      }, delayMs);
    },
    dispose: () => clearTimeout(timer),
  };
}

export function LiveUpdates({ token, children }: { token: string; children: ReactNode }) {
  const client = useQueryClient();
  const api = useApi();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const listeners = useRef(new Set<(e: LiveEvent) => void>());

  useEffect(() => {
    const invalidator = batchedInvalidator(client, 200);
    // Each connection asks for its own single-use ticket; a refused token signs the console out there.
    const connectUrl = async () => {
      const { ticket } = await api.post<StreamTicket>('/api/admin/stream/ticket');
      return `/api/admin/stream?ticket=${encodeURIComponent(ticket)}`;
    };
    const close = openLiveStream(connectUrl, {
      onEvent: (e) => {
        invalidator.add(staleKeys(e));
        listeners.current.forEach((l) => l(e));
      },
      onStatus: setStatus,
      // (Re)opened: refetch what is on screen (what happened before the first connection is not replayed).
      onOpen: () => void client.invalidateQueries(),
    });
    return () => {
      close();
      invalidator.dispose();
    };
    // A new token (signed in again) opens a new stream.
  }, [client, api, token]);

  const subscribe = useCallback((l: (e: LiveEvent) => void) => {
    listeners.current.add(l);
    return () => void listeners.current.delete(l);
  }, []);
  const value = useMemo(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveEventsProvider value={value}>{children}</LiveEventsProvider>;
}
