import { describe, expect, it } from 'vitest';
import { executionOutcome } from './outcomes.js';
import { isReasonCode } from './reasons.js';

describe('executionOutcome', () => {
  it('names a terminal code that is a catalogue reason by that reason', () => {
    expect(executionOutcome('open', 'rejected', 'slippage_exceeded').reason).toBe('slippage_exceeded');
    expect(executionOutcome('open', 'failed', 'expired').reason).toBe('signal_too_old');
    // A late join's slippage limit is its distance from the master's entry.
    expect(executionOutcome('open', 'rejected', 'slippage_exceeded', 'join').reason).toBe(
      'join_price_too_far',
    );
    expect(executionOutcome('open', 'rejected', 10006, 'join').reason).toBe('execution_rejected');
  });

  it('falls back to the status, keeping the broker’s code out of the reason', () => {
    expect(executionOutcome('open', 'rejected', 10019)).toEqual({
      reason: 'execution_rejected',
      detail: "the follower's terminal reported the open rejected (code 10019)",
    });
    expect(executionOutcome('partial_close', 'failed')).toEqual({
      reason: 'execution_failed',
      detail: "the follower's terminal reported the partial close failed",
    });
    // Prototype keys are not codes.
    expect(executionOutcome('close', 'failed', 'constructor').reason).toBe('execution_failed');
  });

  it('always answers with a catalogue code', () => {
    for (const code of [undefined, null, 0, 10006, 'position_not_found', 'toString', ''])
      for (const status of ['rejected', 'failed'] as const)
        expect(isReasonCode(executionOutcome('modify', status, code).reason)).toBe(true);
  });
});
