export function ProgressBar({ value, status, label }: { value: number; status: string; label: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div
      className={`progress progress-${status}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-status={status}
      data-testid="task-progress"
    >
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">
        {status === 'completed' || status === 'failed' ? status : `${pct} %`}
      </span>
    </div>
  );
}
