import type { RiskLimitRow } from './settings-codec';

const blank: RiskLimitRow = {
  period: 'day',
  metric: 'equity_drawdown',
  unit: 'percent',
  value: '',
  action: 'halt_opens',
};

/** Risk-limit rows; `issues` are the API's, keyed by path (`riskLimits.0.maxPercent`). */
export function RiskLimitsFields({
  rows,
  onChange,
  issues,
}: {
  rows: RiskLimitRow[];
  onChange(rows: RiskLimitRow[]): void;
  issues: Record<string, string>;
}) {
  const set = (i: number, patch: Partial<RiskLimitRow>) =>
    onChange(rows.map((r, n) => (n === i ? { ...r, ...patch } : r)));
  const rowIssue = (i: number) =>
    Object.entries(issues)
      .filter(([p]) => p === `riskLimits.${i}` || p.startsWith(`riskLimits.${i}.`))
      .map(([, m]) => m)
      .join('; ');
  return (
    <fieldset className="rows" data-testid="risk-limits">
      <legend>Risk limits</legend>
      <p className="hint">A breach records a stop-out; an operator resets it under Alerts.</p>
      {rows.map((r, i) => (
        <div key={i} className="row-edit" data-testid="risk-limit-row">
          <select
            aria-label="Period"
            value={r.period}
            onChange={(e) => set(i, { period: e.target.value as RiskLimitRow['period'] })}
          >
            <option value="day">per day</option>
            <option value="week">per week</option>
            <option value="month">per month</option>
            <option value="lifetime">lifetime</option>
          </select>
          <select
            aria-label="Metric"
            value={r.metric}
            onChange={(e) => set(i, { metric: e.target.value as RiskLimitRow['metric'] })}
          >
            <option value="equity_drawdown">equity drawdown</option>
            <option value="balance_drawdown">balance drawdown</option>
          </select>
          <input
            aria-label="Limit"
            className="narrow"
            inputMode="decimal"
            value={r.value}
            onChange={(e) => set(i, { value: e.target.value })}
          />
          <select
            aria-label="Unit"
            value={r.unit}
            onChange={(e) => set(i, { unit: e.target.value as RiskLimitRow['unit'] })}
          >
            <option value="percent">%</option>
            <option value="amount">account currency</option>
          </select>
          <select
            aria-label="Action"
            value={r.action}
            onChange={(e) => set(i, { action: e.target.value as RiskLimitRow['action'] })}
          >
            <option value="halt_opens">halt new opens</option>
            <option value="close_all">close all copied positions</option>
          </select>
          <button
            type="button"
            onClick={() => onChange(rows.filter((_, n) => n !== i))}
            aria-label={`Remove risk limit ${i + 1}`}
          >
            Remove
          </button>
          {rowIssue(i) && (
            <small className="field-issue" role="alert">
              {rowIssue(i)}
            </small>
          )}
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, blank])}>
        Add risk limit
      </button>
    </fieldset>
  );
}
