/**
 * Where a risk-limit period starts. UTC by default; brokers that roll their trading day at
 * server time (often UTC+2/+3) pass their offset so "today" matches the terminal.
 */
import type { RiskPeriod } from './subscription.js';

export const DAY_MS = 86_400_000;

const shifted = (now: number, offsetMinutes: number): number => now + offsetMinutes * 60_000;
const unshifted = (t: number, offsetMinutes: number): number => t - offsetMinutes * 60_000;

export function startOfDay(now: number, offsetMinutes = 0): number {
  const t = shifted(now, offsetMinutes);
  return unshifted(Math.floor(t / DAY_MS) * DAY_MS, offsetMinutes);
}

/** Weeks start on Monday, like the trading week. */
export function startOfWeek(now: number, offsetMinutes = 0): number {
  const day = startOfDay(now, offsetMinutes);
  const weekday = new Date(shifted(day, offsetMinutes)).getUTCDay();
  return day - ((weekday + 6) % 7) * DAY_MS;
}

export function startOfMonth(now: number, offsetMinutes = 0): number {
  const d = new Date(shifted(now, offsetMinutes));
  return unshifted(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), offsetMinutes);
}

/** `lifetime` starts at the epoch: the caller's history then begins with the account. */
export function periodStart(period: RiskPeriod, now: number, offsetMinutes = 0): number {
  switch (period) {
    case 'day':
      return startOfDay(now, offsetMinutes);
    case 'week':
      return startOfWeek(now, offsetMinutes);
    case 'month':
      return startOfMonth(now, offsetMinutes);
    case 'lifetime':
      return 0;
  }
}

/** When the period containing `now` ends; `null` for lifetime. */
export function nextPeriodStart(period: RiskPeriod, now: number, offsetMinutes = 0): number | null {
  switch (period) {
    case 'day':
      return startOfDay(now, offsetMinutes) + DAY_MS;
    case 'week':
      return startOfWeek(now, offsetMinutes) + 7 * DAY_MS;
    case 'month': {
      const d = new Date(shifted(now, offsetMinutes));
      return unshifted(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1), offsetMinutes);
    }
    case 'lifetime':
      return null;
  }
}
