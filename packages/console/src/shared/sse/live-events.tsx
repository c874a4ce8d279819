import { createContext, useContext, useEffect, useRef, type ReactNode } from 'react';
import type { LiveEvent, LiveStatus } from './live-stream';

export interface LiveEvents {
  status: LiveStatus;
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

const LiveEventsContext = createContext<LiveEvents>({ status: 'closed', subscribe: () => () => undefined });

export function LiveEventsProvider({ value, children }: { value: LiveEvents; children: ReactNode }) {
  return <LiveEventsContext.Provider value={value}>{children}</LiveEventsContext.Provider>;
}

export const useLiveStatus = (): LiveStatus => useContext(LiveEventsContext).status;

/** Calls `handler` for every live event of `type` while the component is mounted. */
export function useLiveEvent(type: string, handler: (event: LiveEvent) => void): void {
  const { subscribe } = useContext(LiveEventsContext);
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => subscribe((e) => e.type === type && latest.current(e)), [subscribe, type]);
}
