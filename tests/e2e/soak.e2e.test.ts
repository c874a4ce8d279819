/**
 * A short soak on each dialect (bench/lib/soak.js, `npm run soak` for the long one): the SDK's
 * master trades 150 times — market trades, adds and pending orders — to ten followers while
 * the server is SIGKILLed twice and followers are killed and restarted; then every book
 * (positions and pending orders) matches the server's links and copies and the master's book,
 * every copy of a master order that filled became the right position, every copy order
 * matches an independent sizing replay, nothing is doubled, nothing is opened after its
 * master's close and no reason is free text.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/lib/soak.js';
import { dialects, postgresProblem, servicesRequired } from '../../packages/server/src/testing/databases.js';

const TRADES = 150;

describe.each(dialects)('soak under churn on %s', (dialect) => {
  it(
    `copies ${TRADES} trades through two server kills and two follower restarts without a divergence`,
    { timeout: 900_000 },
    async (t) => {
      if (dialect === 'postgres') {
        const problem = await postgresProblem();
        if (problem && !servicesRequired) return t.skip();
      }
      const { figures, problems } = await runSoak({ trades: TRADES, dialect });
      expect(problems).toEqual([]);
      expect(figures).toMatchObject({
        trades: TRADES,
        converged: true,
        divergences: 0,
        doubled: 0,
        sizingWrong: 0,
        reopenedAfterClose: 0,
        freeTextReasons: 0,
        pendingDivergences: 0,
        pendingFillsWrong: 0,
        serverKills: 2,
        followerKills: 2,
      });
      // The run exercised what it is meant to: broker rejections, reconciliation, withdrawals.
      expect(figures.brokerRejects).toBeGreaterThan(0);
      expect(figures.sizingChecked).toBeGreaterThan(TRADES);
      expect(figures.closeToCopiesCloseMs.n).toBeGreaterThan(0);
      // And pending orders in every way: placed, moved, cancelled and filled on the master, and
      // copies placed and filled by a follower's own price walk.
      expect(figures.pendingSignals.placed).toBeGreaterThan(0);
      expect(figures.pendingSignals.modified).toBeGreaterThan(0);
      expect(figures.pendingSignals.cancelled + figures.pendingSignals.expired).toBeGreaterThan(0);
      expect(figures.pendingSignals.filled).toBeGreaterThan(0);
      expect(figures.pendingFillsChecked).toBe(figures.pendingSignals.filled * figures.followers);
      expect(figures.orderCopiesByStatus['filled'] ?? 0).toBeGreaterThan(0);
    },
  );
});
