/** Status words coloured by what they mean to an operator: fine, waiting, stopped, failed. */
const tone: Record<string, 'ok' | 'wait' | 'off' | 'bad'> = {
  authenticated: 'ok',
  active: 'ok',
  approved: 'ok',
  filled: 'ok',
  open: 'ok',
  completed: 'ok',
  live: 'ok',
  pending: 'wait',
  queued: 'wait',
  delivered: 'wait',
  acknowledged: 'wait',
  running: 'wait',
  closing: 'wait',
  close_only: 'wait',
  paused: 'wait',
  warning: 'wait',
  connecting: 'wait',
  reconnecting: 'wait',
  retired: 'off',
  terminated: 'off',
  closed: 'off',
  disabled: 'off',
  skipped: 'off',
  withdrawn: 'off',
  detached: 'off',
  cancelled: 'off',
  replaced: 'off',
  frozen: 'off',
  info: 'off',
  acked: 'off',
  rejected: 'bad',
  failed: 'bad',
  expired: 'bad',
  critical: 'bad',
  stopped_out: 'bad',
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge badge-${tone[status] ?? 'off'}`} data-testid={testId} data-status={status}>
      {status.replace(/_/g, ' ')}
    </span>
  );
}
