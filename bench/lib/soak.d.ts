/** Types of bench/lib/soak.js for the e2e test that runs a short soak. */
export interface SoakFigures {
  trades: number;
  followers: number;
  serverKills: number;
  followerKills: number;
  converged: boolean;
  copyOrders: number;
  byStatus: Record<string, number>;
  reconcileOrders: number;
  divergences: number;
  doubled: number;
  sizingChecked: number;
  sizingWrong: number;
  reopenedAfterClose: number;
  freeTextReasons: number;
  /** The master's pending-order signals: placed, modified, cancelled, expired, filled. */
  pendingSignals: Record<'placed' | 'modified' | 'cancelled' | 'expired' | 'filled', number>;
  /** Followers' copies of the master's pending orders, by status. */
  orderCopiesByStatus: Record<string, number>;
  pendingDivergences: number;
  pendingFillsChecked: number;
  pendingFillsWrong: number;
  closeToCopiesCloseMs: {
    p50: number | null;
    p90: number | null;
    p99: number | null;
    max: number | null;
    n: number;
  };
  masterOpenAtEnd: number;
  brokerRejects: number;
}

export function runSoak(options: {
  trades: number;
  dialect?: 'sqlite' | 'postgres';
  serverKills?: number;
  followerKills?: number;
  intervalMs?: number;
  addRate?: number;
  pendingRate?: number;
  orderLifetimeMs?: readonly [number, number];
  convergeMs?: number;
  log?: (line: string) => void;
}): Promise<{ figures: SoakFigures; problems: string[] }>;
