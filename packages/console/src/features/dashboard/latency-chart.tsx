import type { HourlyPoint } from './api';

const W = 720;
const H = 220;
const PAD = { left: 52, right: 28, top: 12, bottom: 28 };
const HOUR = 3_600_000;
const SERIES = [
  ['p50', 'series-p50'],
  ['p90', 'series-p90'],
  ['p99', 'series-p99'],
] as const;

/** A rounded ceiling for the axis: 1, 2 or 5 times a power of ten. */
function niceCeil(v: number): number {
  if (v <= 0) return 100;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/**
 * Signal-to-execution latency percentiles per hour over the last `hours`. Hours without
 * orders break the lines instead of drawing a slope through them.
 */
export function LatencyChart({
  hourly,
  hours = 24,
  now = Date.now(),
}: {
  hourly: HourlyPoint[];
  hours?: number;
  now?: number;
}) {
  const end = now - (now % HOUR);
  const start = end - (hours - 1) * HOUR;
  const byHour = new Map(hourly.map((h) => [Date.parse(h.hour), h]));
  const max = niceCeil(Math.max(0, ...hourly.map((h) => h.latencyMs.p99 ?? 0)));
  const x = (t: number) => PAD.left + ((t - start) / (end - start || 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const slots = Array.from({ length: hours }, (_, i) => start + i * HOUR);

  const path = (key: 'p50' | 'p90' | 'p99') => {
    let d = '';
    let pen = false;
    for (const t of slots) {
      const v = byHour.get(t)?.latencyMs[key];
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const label = `Signal-to-execution latency per hour, last ${hours} hours; axis up to ${max} ms`;
  return (
    <figure className="chart" data-testid="latency-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        <title>{label}</title>
        {ticks.map((v) => (
          <g key={v}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
            <text className="axis" x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
              {v >= 1000 ? `${v / 1000}s` : `${v}ms`}
            </text>
          </g>
        ))}
        {slots
          .filter((_, i) => i % 6 === (hours - 1) % 6)
          .map((t) => (
            <text key={t} className="axis" x={x(t)} y={H - 8} textAnchor="middle">
              {new Date(t).toLocaleTimeString(undefined, {
                hour: '2-digit',
                minute: '2-digit',
                hour12: false,
              })}
            </text>
          ))}
        {SERIES.map(([key, cls]) => (
          <path key={key} className={`line ${cls}`} d={path(key)} />
        ))}
        {SERIES.map(([key, cls]) =>
          slots.map((t) => {
            const v = byHour.get(t)?.latencyMs[key];
            return v === null || v === undefined ? null : (
              <circle key={`${key}${t}`} className={cls} cx={x(t)} cy={y(v)} r={3}>
                <title>{`${new Date(t).toLocaleString()} ${key}: ${v} ms`}</title>
              </circle>
            );
          }),
        )}
      </svg>
      <figcaption className="legend">
        {SERIES.map(([key, cls]) => (
          <span key={key}>
            <i className={`swatch ${cls}`} /> {key}
          </span>
        ))}
        {hourly.length === 0 && <span className="muted">No copy orders in the last {hours} hours.</span>}
      </figcaption>
    </figure>
  );
}
