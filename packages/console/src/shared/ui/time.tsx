import { useEffect, useReducer } from 'react';
import { formatAgo, formatTime } from '../lib/format';

/** A timestamp in local time (UTC instant in the tooltip); relative ones ("3m ago") keep ticking. */
export function Time({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!relative || !iso) return;
    const timer = setInterval(tick, 10_000);
    return () => clearInterval(timer);
  }, [relative, iso]);
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={relative ? `${formatTime(iso)} (${iso})` : iso}>
      {relative ? formatAgo(iso) : formatTime(iso)}
    </time>
  );
}
