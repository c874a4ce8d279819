import { useEffect, useRef, useState } from 'react';
import type { ReplicationAnalytics } from '@kopitra/contracts';

const H = 240;
const PAD = { left: 56, right: 12, top: 12, bottom: 30 };
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

const hourLabel = (t: number) =>
  new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toLocaleString()} s` : `${v} ms`);

/** Follows the figure's width so text is drawn at its real size, not scaled with a viewBox. */
function useWidth(fallback: number) {
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(280, Math.floor(entry.contentRect.width)));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width] as const;
}

/**
 * Signal-to-execution latency percentiles in fixed hourly buckets over the last `hours`
 * (the current hour last): one group of p50/p90/p99 bars per hour, an empty bucket where no
 * order was written. Hovering or focusing a bucket shows its figures.
 */
export function LatencyChart({
  hourly,
  hours = 24,
  now = Date.now(),
}: {
  hourly: ReplicationAnalytics['hourly'];
  hours?: number;
  now?: number;
}) {
  const [ref, W] = useWidth(720);
  const [hover, setHover] = useState<number | null>(null);
  const end = now - (now % HOUR);
  const start = end - (hours - 1) * HOUR;
  const byHour = new Map(hourly.map((h) => [Date.parse(h.hour), h]));
  const slots = Array.from({ length: hours }, (_, i) => start + i * HOUR);
  const max = niceCeil(
    Math.max(0, ...slots.map((t) => byHour.get(t)?.latencyMs.p99 ?? byHour.get(t)?.latencyMs.p90 ?? 0)),
  );
  const band = (W - PAD.left - PAD.right) / hours;
  const x = (i: number) => PAD.left + i * band;
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const bar = Math.max(2, (band - 4) / 3);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const every = W < 520 ? 6 : 3;
  const label = `Signal-to-execution latency per hour, last ${hours} hours; axis up to ${ms(max)}`;
  const hovered = hover === null ? undefined : slots[hover];
  const point = hovered === undefined ? undefined : byHour.get(hovered);
  return (
    <figure className="chart" data-testid="latency-chart" ref={ref}>
      <svg width={W} height={H} role="img" aria-label={label}>
        <title>{label}</title>
        {ticks.map((v) => (
          <g key={v}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
            <text className="axis" x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
              {ms(v)}
            </text>
          </g>
        ))}
        {slots.map((t, i) =>
          (hours - 1 - i) % every === 0 ? (
            <text key={t} className="axis" x={x(i) + band / 2} y={H - 10} textAnchor="middle">
              {hourLabel(t)}
            </text>
          ) : null,
        )}
        {slots.map((t, i) => {
          const p = byHour.get(t);
          return (
            <g key={t} data-testid="chart-bucket" data-hour={new Date(t).toISOString()} data-empty={!p}>
              {p &&
                SERIES.map(([key, cls], k) => {
                  const v = p.latencyMs[key];
                  return v === null || v === undefined ? null : (
                    <rect
                      key={key}
                      className={cls}
                      x={x(i) + 2 + k * bar}
                      y={y(v)}
                      width={bar}
                      height={Math.max(1, H - PAD.bottom - y(v))}
                    />
                  );
                })}
              <rect
                className="bucket-hit"
                x={x(i)}
                y={PAD.top}
                width={band}
                height={H - PAD.top - PAD.bottom}
                tabIndex={0}
                aria-label={`${hourLabel(t)}: ${p ? `${p.copied} copied, p50 ${ms(p.latencyMs.p50 ?? 0)}` : 'no orders'}`}
                onMouseEnter={() => setHover(i)}
                onMouseLeave={() => setHover(null)}
                onFocus={() => setHover(i)}
                onBlur={() => setHover(null)}
              />
            </g>
          );
        })}
      </svg>
      {hovered !== undefined && hover !== null && (
        <div
          className="chart-tooltip"
          role="tooltip"
          data-testid="chart-tooltip"
          style={{ left: Math.min(Math.max(x(hover) + band / 2, 90), W - 90) }}
        >
          <strong>
            {hourLabel(hovered)}–{hourLabel(hovered + HOUR)}
          </strong>
          {point ? (
            <>
              <div>
                {point.copied} copied · {point.failed} failed
              </div>
              <div>
                p50 {ms(point.latencyMs.p50 ?? 0)} · p90 {ms(point.latencyMs.p90 ?? 0)} · p99{' '}
                {ms(point.latencyMs.p99 ?? 0)}
              </div>
            </>
          ) : (
            <div>no copy orders</div>
          )}
        </div>
      )}
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
