/**
 * Coded outcomes of copy orders decided outside a master signal's plan: what the follower's
 * terminal reported, and closes an operator asks for. The broker's own code and words stay
 * in their own fields (`errorCode`, `message`); the reason is always a catalogue code.
 */
import type { CopyOrderKind } from '@kopitra/contracts';
import type { CloseDecision } from './decisions.js';
import type { ReasonCode, Skip } from './reasons.js';
import type { Side } from './subscription.js';

/** Terminal codes (`errorCode` of `POST /executions`) that name a catalogue reason themselves. */
const TERMINAL_REASONS: Readonly<Record<string, ReasonCode>> = {
  // The EA re-checks maxSlippage against the master's price before every attempt.
  slippage_exceeded: 'slippage_exceeded',
  // An open received after its expiresAt (the gateway's clock) is not executed.
  expired: 'signal_too_old',
};

/**
 * Why a copy order ended `rejected` or `failed`, from the terminal's report. A late join's
 * open (`origin` `join`) refused for slippage was refused for its distance from the master's
 * entry, which is what its `maxSlippage` carried.
 */
export function executionOutcome(
  kind: CopyOrderKind,
  status: 'rejected' | 'failed',
  errorCode?: string | number | null,
  origin?: string,
): Skip {
  const code = errorCode === undefined || errorCode === null ? null : String(errorCode);
  const terminal =
    (code !== null && Object.hasOwn(TERMINAL_REASONS, code) ? TERMINAL_REASONS[code] : undefined) ??
    (status === 'rejected' ? 'execution_rejected' : 'execution_failed');
  const reason = origin === 'join' && terminal === 'slippage_exceeded' ? 'join_price_too_far' : terminal;
  const what = kind.replace('_', ' ');
  return {
    reason,
    detail: `the follower's terminal reported the ${what} ${status}${code !== null ? ` (code ${code})` : ''}`,
  };
}

/** A close an operator asks for (the close-follower-positions task). */
export const operatorClose = (p: {
  masterPositionId: string;
  ticket: string | null;
  symbol: string;
  side: Side;
  volume: number;
  positions?: number;
}): CloseDecision => ({
  action: 'close',
  ...p,
  reason: 'operator_close',
  detail: 'requested by an operator',
});

/**
 * Why an add still undelivered is withdrawn when its copy's open did not fill: it would open a
 * position of its own that no copy stands for. Its volume stays with the copy.
 */
export const addWithdrawn = (openOrderId: string | null): Skip => ({
  reason: 'copy_open_failed',
  detail: openOrderId
    ? `the copy's open (order ${openOrderId}) did not fill`
    : "the copy's open did not fill",
});
