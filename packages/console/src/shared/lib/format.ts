/** Display formatting: local time with the UTC instant in the tooltip, compact numbers. */

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  const abs = Math.abs(s);
  const unit =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h`
          : `${Math.floor(abs / 86_400)}d`;
  return s >= 0 ? `${unit} ago` : `in ${unit}`;
}

export function formatNumber(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

/** A clock's offset from UTC: `UTC+03:00`, `UTC−05:30`, `UTC` for zero. */
export function formatUtcOffset(sec: number): string {
  if (sec === 0) return 'UTC';
  const minutes = Math.round(Math.abs(sec) / 60);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `UTC${sec > 0 ? '+' : '\u2212'}${hh}:${mm}`;
}

export function formatPercent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`;
}

/** Long ids stay whole in the title; the table shows the distinguishing tail. */
export const shortId = (id: string | null | undefined, keep = 10): string =>
  !id ? '—' : id.length <= keep + 2 ? id : `…${id.slice(-keep)}`;
