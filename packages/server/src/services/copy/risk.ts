/**
 * Risk limits, evaluated on every heartbeat of a follower: a breach records a stop-out,
 * alerts operators, halts opens and — for `close_all` — closes every copied position.
 * Closes and modifications are never blocked by a stop-out.
 */
import {
  decideRiskLimits,
  riskWindows,
  withDefaults,
  type DrawdownWindow,
  type SubscriptionInput,
} from '@kopitra/engine';
import { accountChannel } from '../../notify/notifier.js';
import { linksOfSubscription, subscriptionsOfFollower, updateLink } from '../../store/copy.js';
import { drawdownWindow, insertStopOut, recordMetrics, stopOutsOf, toStored } from '../../store/risk.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { alert, queueOrder } from './issued.js';

export async function evaluateRisk(
  deps: GatewayDeps,
  db: Db,
  followerAccountId: string,
  metrics: { balance: number; equity: number },
  /** The broker's clock minus UTC (null: unknown, UTC): periods start at the broker's midnight. */
  serverUtcOffsetSec: number | null,
  now: number,
): Promise<void> {
  const offsetMinutes = Math.round((serverUtcOffsetSec ?? 0) / 60);
  await recordMetrics(db, followerAccountId, now, metrics.balance, metrics.equity);
  const subs = await subscriptionsOfFollower(db, followerAccountId);
  let woke = false;
  for (const sub of subs) {
    const settings = withDefaults(JSON.parse(sub.settings) as SubscriptionInput);
    if (settings.riskLimits.length === 0) continue;
    const stored = (await stopOutsOf(db, followerAccountId, sub.group_id)).map(toStored);
    const windows = new Map<string, DrawdownWindow>();
    for (const w of riskWindows(settings.riskLimits, now, stored, offsetMinutes)) {
      const current = w.metric === 'equity_drawdown' ? metrics.equity : metrics.balance;
      const window = await drawdownWindow(db, followerAccountId, w.metric, w.from, current);
      if (window) windows.set(w.limitKey, window);
    }
    const links = (await linksOfSubscription(db, sub.group_id, followerAccountId)).filter(
      (l) => l.status === 'open' || l.status === 'closing',
    );
    const decision = decideRiskLimits({
      limits: settings.riskLimits,
      now,
      offsetMinutes,
      stopOuts: stored,
      windows,
      copiedPositions: links.map((l) => ({
        masterPositionId: l.master_position_id,
        ticket: l.ticket,
        symbol: l.symbol,
        side: l.side,
        volume: l.open_volume,
        closing: l.status === 'closing',
        positions: l.position_count,
      })),
    });
    const scope = { groupId: sub.group_id, masterAccountId: sub.master_account_id, followerAccountId };
    for (const s of decision.newStopOuts) {
      await insertStopOut(db, s, { groupId: sub.group_id, followerAccountId });
      const what = `${s.period} ${s.metric.replace('_', ' ')} of ${s.drawdownPercent.toFixed(2)} % (${s.drawdownAmount.toFixed(2)}) reached the limit`;
      if (
        await alert(
          deps,
          db,
          scope,
          'risk_limit_halted',
          `Risk limit breached: ${what}; ${s.action === 'close_all' ? 'closing all copied positions' : 'new opens halted'} until an operator resets it.`,
          null,
          now,
        )
      )
        woke = true;
      deps.logger.warn({ followerAccountId, groupId: sub.group_id, stopOut: s }, 'risk limit breached');
    }
    for (const c of decision.closes) {
      await queueOrder(deps, db, scope, c, now);
      await updateLink(
        db,
        { groupId: sub.group_id, followerAccountId, masterPositionId: c.masterPositionId },
        { status: 'closing', updated_at: now },
      );
      woke = true;
    }
  }
  if (woke) await deps.notifier.notify(db, accountChannel(followerAccountId));
}
