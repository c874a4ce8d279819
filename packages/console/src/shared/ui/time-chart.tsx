import { useState } from 'react';

export interface ChartSeries {
  key: string;
  label: string;
  /** A class from styles.css giving the stroke colour (series-1 … series-4). */
  className: string;
  values: Array<number | null>;
}

const W = 720;
const H = 220;
const PAD = { left: 60, right: 20, top: 12, bottom: 30 };

/** A rounded step for the axis: 1, 2 or 5 times a power of ten. */
function niceStep(range: number): number {
  if (range <= 0) return 1;
  const raw = range / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

/**
 * A line chart over fixed time buckets: labelled axes, a legend, and a tooltip with every
 * series' value for the bucket under the pointer (or the focused bucket, by keyboard).
 * Buckets without a value break the line instead of drawing a slope through them.
 */
export function TimeChart({
  title,
  times,
  series,
  format,
  testId,
}: {
  title: string;
  /** Bucket starts (ISO), oldest first. */
  times: string[];
  series: ChartSeries[];
  format(v: number): string;
  testId?: string;
}) {
  const [hover, setHover] = useState<number | null>(null);
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const lo = Math.min(0, ...all);
  const hiRaw = Math.max(0, ...all);
  const step = niceStep(hiRaw - lo || 1);
  const min = Math.floor(lo / step) * step;
  const max = Math.max(min + step, Math.ceil(hiRaw / step) * step);
  const n = times.length;
  const x = (i: number) => PAD.left + (n <= 1 ? 0.5 : i / (n - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - min) / (max - min)) * (H - PAD.top - PAD.bottom);
  const ticks: number[] = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  const daily = n > 1 && Date.parse(times[1]!) - Date.parse(times[0]!) >= 86_400_000;
  const timeLabel = (iso: string) =>
    daily
      ? new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
      : new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
  const every = Math.max(1, Math.ceil(n / 8));
  const path = (values: Array<number | null>) => {
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const nearest = (clientX: number, rect: DOMRect) => {
    const px = ((clientX - rect.left) / rect.width) * W;
    return Math.max(0, Math.min(n - 1, Math.round(((px - PAD.left) / (W - PAD.left - PAD.right)) * (n - 1))));
  };
  const empty = all.length === 0;
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-body">
        <svg
          viewBox={`0 0 ${W} ${H}`}
          role="img"
          aria-label={`${title}: ${n} points, axis ${format(min)} to ${format(max)}`}
          tabIndex={0}
          onMouseMove={(e) => setHover(nearest(e.clientX, e.currentTarget.getBoundingClientRect()))}
          onMouseLeave={() => setHover(null)}
          onFocus={() => setHover(n - 1)}
          onBlur={() => setHover(null)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowLeft') setHover(Math.max(0, (hover ?? n - 1) - 1));
            if (e.key === 'ArrowRight') setHover(Math.min(n - 1, (hover ?? n - 1) + 1));
          }}
        >
          {ticks.map((v) => (
            <g key={v}>
              <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
              <text className="axis" x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
                {format(v)}
              </text>
            </g>
          ))}
          {times.map((t, i) =>
            (n - 1 - i) % every === 0 ? (
              <text key={t} className="axis" x={x(i)} y={H - 8} textAnchor="middle">
                {timeLabel(t)}
              </text>
            ) : null,
          )}
          {series.map((s) => (
            <path key={s.key} className={`line ${s.className}`} d={path(s.values)} />
          ))}
          {series.map((s) =>
            s.values.map((v, i) =>
              v === null ? null : (
                <circle key={`${s.key}${i}`} className={s.className} cx={x(i)} cy={y(v)} r={2.5} />
              ),
            ),
          )}
          {hover !== null && (
            <line className="cursor" x1={x(hover)} x2={x(hover)} y1={PAD.top} y2={H - PAD.bottom} />
          )}
        </svg>
        {hover !== null && (
          <div
            className="chart-tooltip"
            role="tooltip"
            data-testid="chart-tooltip"
            style={{ left: `${(x(hover) / W) * 100}%` }}
          >
            <strong>{new Date(times[hover]!).toLocaleString()}</strong>
            {series.map((s) => (
              <div key={s.key}>
                <i className={`swatch ${s.className}`} /> {s.label}:{' '}
                {s.values[hover] === null ? '—' : format(s.values[hover]!)}
              </div>
            ))}
          </div>
        )}
      </div>
      <div className="legend">
        {series.map((s) => (
          <span key={s.key}>
            <i className={`swatch ${s.className}`} /> {s.label}
          </span>
        ))}
        {empty && <span className="muted">No data in this window.</span>}
      </div>
    </figure>
  );
}
