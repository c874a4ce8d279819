/**
 * One EventSource on `GET /api/admin/stream`. A browser's EventSource cannot send the bearer
 * token, and a token in the URL would land in logs, so each connection opens with a fresh
 * single-use ticket (`connectUrl`). The browser's own reconnection repeats the spent URL, so on
 * any error we close the source and open a new one with a new ticket after a pause, resuming
 * after the last event received (`lastEventId`); the server also ends a stream whose token was
 * revoked, and then the ticket request is what signs the console out.
 */

/** Event names the management stream sends (`event:` lines). */
export const LIVE_EVENT_TYPES = [
  'session.state_changed',
  'session.forbidden_attempt',
  'ea.inbox',
  'signal.accepted',
  'copy_order.updated',
  'order.command_queued',
  'alert.raised',
  'task.progress',
  'group.membership_changed',
] as const;

export interface LiveEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LiveStreamHandlers {
  onEvent(event: LiveEvent): void;
  onStatus(status: LiveStatus): void;
  /** The stream (re)opened: whatever happened while it was down must be refetched. */
  onOpen(): void;
}

export function openLiveStream(
  connectUrl: () => Promise<string>,
  handlers: LiveStreamHandlers,
  retryMs = 2000,
): () => void {
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let opened = false;
  let lastEventId = '';

  const dispatch = (type: string) => (e: MessageEvent<string>) => {
    if (e.lastEventId) lastEventId = e.lastEventId;
    try {
      handlers.onEvent({ type, id: e.lastEventId, data: JSON.parse(e.data) as Record<string, unknown> });
    } catch {
      // a frame that is not JSON is not ours to act on
    }
  };

  const again = (status: LiveStatus) => {
    if (stopped) return;
    handlers.onStatus(status);
    retry = setTimeout(() => void connect(), retryMs);
  };

  async function connect() {
    handlers.onStatus(opened ? 'reconnecting' : 'connecting');
    let url: string;
    try {
      url = await connectUrl();
    } catch {
      // No ticket: the API is away, or refused the token (the client has signed out then).
      again('closed');
      return;
    }
    if (stopped) return;
    if (lastEventId) url += `${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}`;
    const s = new EventSource(url);
    source = s;
    for (const type of LIVE_EVENT_TYPES) s.addEventListener(type, dispatch(type));
    s.onmessage = dispatch('message');
    s.onopen = () => {
      opened = true;
      handlers.onStatus('live');
      handlers.onOpen();
    };
    s.onerror = () => {
      // Its ticket is spent: the browser's own retry would be refused.
      s.close();
      if (source === s) source = null;
      again(opened ? 'reconnecting' : 'closed');
    };
  }

  void connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}
