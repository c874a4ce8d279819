/**
 * The fan-out job: writes the batches of a master's fan-outs that did not fit in the
 * transaction accepting their signal (fanout.ts), one transaction per batch.
 *
 * - Each batch runs under the master's lock (PostgreSQL; SQLite writes one transaction at a
 *   time) and takes its subscriptions from the master's earliest running fan-out, after the
 *   cursor the previous batch left. The batch's copy orders and the cursor commit together:
 *   after a crash the job's lease lapses, another replica claims it and goes on after the last
 *   batch that committed.
 * - Any job of the master drains all of its running fan-outs, earliest first, so a signal
 *   accepted behind another is written after it for every follower and two claimers of the
 *   same master take turns on the lock instead of writing the same batch.
 * - Copy-order and event ids are derived from (signal, subscription): a batch written again
 *   skips what exists (see `writeBatch`).
 */
import { z } from 'zod';
import { getSignal, lockMaster, type SignalRow } from '../../store/copy.js';
import { advanceFanout, cursorOf, nextFanout } from '../../store/fanouts.js';
import { inTransaction } from '../../store/transaction.js';
import type { GatewayDeps } from '../deps.js';
import type { JobDefinition } from '../job-worker.js';
import { loadFanoutContext } from './context.js';
import { FANOUT_JOB, writeBatch, type FanoutSignal } from './fanout.js';
import { wakeFollowers } from './signal-intake.js';
import type { MasterSignal } from '@kopitra/engine';

const Payload = z.object({ masterAccountId: z.string().min(1) });

export function fanoutJob(deps: GatewayDeps): JobDefinition {
  return {
    kind: FANOUT_JOB,
    async run(payload, ctx) {
      const { masterAccountId } = Payload.parse(payload);
      while (await continueFanout(deps, masterAccountId)) {
        // Stopping or a lost lease gives the unit back between batches; the cursor holds.
        if (ctx.signal.aborted) throw ctx.signal.reason;
      }
    },
  };
}

/** Writes the next batch of the master's earliest running fan-out; false when none is left. */
export async function continueFanout(deps: GatewayDeps, masterAccountId: string): Promise<boolean> {
  const step = await inTransaction(deps.db, async (tx) => {
    const pg = deps.dialect === 'postgres';
    if (pg) await lockMaster(tx.trx, masterAccountId);
    const fanout = await nextFanout(tx.trx, masterAccountId);
    if (!fanout) return null;
    const row = await getSignal(tx.trx, fanout.signal_id);
    if (!row) throw new Error(`fan-out of signal ${fanout.signal_id} has no signal`);
    const s = fanoutSignalOf(row, fanout.trace_context);
    const now = deps.clock.now();
    const context = await loadFanoutContext(tx.trx, masterAccountId, s.signal, now, pg, {
      after: cursorOf(fanout),
      limit: deps.fanoutBatch,
    });
    const batch = await writeBatch(deps, tx, s, context, now, true);
    await advanceFanout(
      tx.trx,
      fanout.signal_id,
      { after: batch.last, orders: batch.copies.length + batch.skipped.length, done: !context.more },
      now,
    );
    await wakeFollowers(deps, tx, batch, now);
    return { signalId: fanout.signal_id, number: fanout.batches + 1, type: row.type, batch };
  });
  if (!step) return false;
  const { copies, skipped } = step.batch;
  if (deps.metrics) {
    if (copies.length) deps.metrics.copyOrders.inc({ kind: step.type, status: 'queued' }, copies.length);
    if (skipped.length) deps.metrics.copyOrders.inc({ kind: step.type, status: 'skipped' }, skipped.length);
  }
  deps.logger.debug(
    { signal: step.signalId, batch: step.number, copies: copies.length, skipped: skipped.length },
    'fan-out batch written',
  );
  deps.afterFanoutBatch?.(step.signalId, step.number);
  return true;
}

function fanoutSignalOf(row: SignalRow, traceContext: string | null): FanoutSignal {
  const signal: MasterSignal = {
    type: row.type as MasterSignal['type'],
    masterPositionId: row.master_position_id,
    symbol: row.symbol,
    side: row.side,
    volume: row.volume,
    remainingVolume: row.remaining_volume,
    price: row.price,
    sl: row.sl,
    tp: row.tp,
    magic: row.magic,
    occurredAt: row.occurred_at,
  };
  return {
    signalId: row.signal_id,
    masterAccountId: row.master_account_id,
    signal,
    receivedAt: row.received_at,
    masterSignalId: row.client_signal_id,
    masterDealTicket: row.deal_ticket,
    traceContext,
  };
}
