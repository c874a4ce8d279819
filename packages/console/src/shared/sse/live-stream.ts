/**
 * One EventSource on `GET /api/admin/stream`. The browser reconnects by itself after a network
 * drop (sending Last-Event-ID, so nothing is missed); an HTTP refusal closes the source for
 * good, so we open a new one after a pause and report `closed` meanwhile.
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

export function openLiveStream(url: string, handlers: LiveStreamHandlers, retryMs = 3000): () => void {
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const dispatch = (type: string) => (e: MessageEvent<string>) => {
    try {
      handlers.onEvent({ type, id: e.lastEventId, data: JSON.parse(e.data) as Record<string, unknown> });
    } catch {
      // a frame that is not JSON is not ours to act on
    }
  };

  function connect() {
    handlers.onStatus(source ? 'reconnecting' : 'connecting');
    const s = new EventSource(url);
    source = s;
    for (const type of LIVE_EVENT_TYPES) s.addEventListener(type, dispatch(type));
    s.onmessage = dispatch('message');
    s.onopen = () => {
      handlers.onStatus('live');
      handlers.onOpen();
    };
    s.onerror = () => {
      if (stopped) return;
      if (s.readyState === EventSource.CLOSED) {
        handlers.onStatus('closed');
        retry = setTimeout(connect, retryMs);
      } else {
        handlers.onStatus('reconnecting');
      }
    };
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}
