type Row = { from: string; to: string };

export function SymbolMapFields({
  rows,
  onChange,
  issues,
}: {
  rows: Row[];
  onChange(rows: Row[]): void;
  issues: Record<string, string>;
}) {
  const set = (i: number, patch: Partial<Row>) =>
    onChange(rows.map((r, n) => (n === i ? { ...r, ...patch } : r)));
  const mapIssues = Object.entries(issues).filter(([p]) => p === 'symbolMap' || p.startsWith('symbolMap.'));
  return (
    <fieldset className="rows" data-testid="symbol-map">
      <legend>Symbol map</legend>
      <p className="hint">
        Master symbol → the follower broker's name for it (e.g. EURUSD → EURUSD.m). Unmapped symbols keep
        their name.
      </p>
      {rows.map((r, i) => (
        <div key={i} className="row-edit">
          <input
            aria-label="Master symbol"
            placeholder="EURUSD"
            value={r.from}
            onChange={(e) => set(i, { from: e.target.value })}
          />
          <span aria-hidden>→</span>
          <input
            aria-label="Follower symbol"
            placeholder="EURUSD.m"
            value={r.to}
            onChange={(e) => set(i, { to: e.target.value })}
          />
          <button
            type="button"
            onClick={() => onChange(rows.filter((_, n) => n !== i))}
            aria-label={`Remove mapping ${i + 1}`}
          >
            Remove
          </button>
        </div>
      ))}
      {mapIssues.map(([p, m]) => (
        <small key={p} className="field-issue" role="alert">
          {p}: {m}
        </small>
      ))}
      <button type="button" onClick={() => onChange([...rows, { from: '', to: '' }])}>
        Add mapping
      </button>
    </fieldset>
  );
}
