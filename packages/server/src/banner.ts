/** The few lines `kopitra up` ends its start-up with: where the console is and who signs in. */
import type { FirstAdmin } from './services/first-admin.js';
import { VERSION } from './version.js';

/** The address a browser on this machine opens: a wildcard bind is reached through localhost. */
export function consoleUrl(listenUrl: string): string {
  const u = new URL(listenUrl);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = 'localhost';
  return u.toString();
}

export function startupBanner(opts: {
  url: string;
  admin: FirstAdmin | null;
  demo: boolean;
  console: boolean;
}): string {
  const url = consoleUrl(opts.url);
  const rows: Array<[string, string]> = [];
  if (opts.console) rows.push(['Console', url]);
  else rows.push(['Gateway', `${url}trade-agent/v1`]);
  if (opts.admin) {
    rows.push(['Admin', opts.admin.email]);
    rows.push(
      opts.admin.oneTimePassword
        ? ['Password', `${opts.admin.oneTimePassword}  (one-time: change it in the console under Password)`]
        : ['Password', `as set before (forgotten? kopitra admin reset-password ${opts.admin.email})`],
    );
  }
  if (opts.demo) rows.push(['Demo', 'a master and three followers trading; Ctrl+C stops everything']);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [
    '',
    `  Kopitra ${VERSION} is running`,
    ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(width)} ${v}`),
    '',
  ].join('\n');
}
