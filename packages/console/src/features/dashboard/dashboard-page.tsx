import type { ReplicationAnalytics } from '@kopitra/contracts';
import { Link } from 'react-router';
import { formatMs, formatNumber, formatPercent } from '../../shared/lib/format';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { PageHeader } from '../../shared/ui/states';
import { useReplication, useSnapshot } from './api';
import { LatencyChart } from './latency-chart';

const SEGMENTS: Array<[keyof ReplicationAnalytics['latencyMs'], string]> = [
  ['signalToWritten', 'signal → order written'],
  ['writtenToDelivered', 'written → delivered to EA'],
  ['deliveredToAcknowledged', 'delivered → acknowledged'],
  ['signalToExecuted', 'signal → execution reported'],
  ['masterDealToExecuted', 'master deal → follower fill'],
];

function Stat({
  label,
  value,
  to,
  tone,
  testId,
}: {
  label: string;
  value: string | number;
  to?: string;
  tone?: 'warn' | 'bad';
  testId: string;
}) {
  const body = (
    <>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
      <span className="stat-label">{label}</span>
    </>
  );
  return (
    <div className={`card stat${tone ? ` stat-${tone}` : ''}`}>{to ? <Link to={to}>{body}</Link> : body}</div>
  );
}

export function DashboardPage() {
  const snapshot = useSnapshot();
  const replication = useReplication();
  const c = snapshot.data?.counts;
  const r = replication.data;
  return (
    <section>
      <PageHeader title="Replication health" />
      <ErrorNotice error={snapshot.error} title="Headline counts" />
      <div className="stats">
        <Stat
          label="sessions online"
          value={c?.sessionsOnline ?? '…'}
          to="/sessions?status=authenticated"
          testId="stat-sessions-online"
        />
        <Stat
          label="pending approvals"
          value={c?.pendingApprovals ?? '…'}
          to="/sessions?status=pending"
          tone={c && c.pendingApprovals > 0 ? 'warn' : undefined}
          testId="stat-pending"
        />
        <Stat
          label="open alerts"
          value={c?.openAlerts ?? '…'}
          to="/alerts"
          tone={c && c.openAlerts > 0 ? 'bad' : undefined}
          testId="stat-alerts"
        />
        <Stat label="copy orders, 24 h" value={c?.copyOrders24h ?? '…'} to="/orders" testId="stat-orders" />
        <Stat
          label="failed orders, 24 h"
          value={c?.failedOrders24h ?? '…'}
          to="/orders?status=failed"
          tone={c && c.failedOrders24h > 0 ? 'bad' : undefined}
          testId="stat-failed"
        />
        <Stat
          label="accounts / groups"
          value={c ? `${c.accounts} / ${c.groups}` : '…'}
          to="/accounts"
          testId="stat-accounts"
        />
      </div>

      <ErrorNotice error={replication.error} title="Replication analytics" />
      {r && (
        <div className="grid-2">
          <div className="card">
            <h2>Latency over time (signal → execution)</h2>
            <LatencyChart hourly={r.hourly} hours={r.windowHours} />
          </div>
          <div className="card">
            <h2>Last {r.windowHours} hours</h2>
            <dl className="facts">
              <dt>Copied trades (opens filled)</dt>
              <dd>{r.copiedTrades}</dd>
              <dt>Copy orders</dt>
              <dd>{r.copyOrders}</dd>
              <dt>Success rate</dt>
              <dd>{formatPercent(r.successRate)}</dd>
              <dt>Slippage p50 / p90</dt>
              <dd>
                {formatNumber(r.slippagePoints.p50)} / {formatNumber(r.slippagePoints.p90)} pts
              </dd>
              <dt>Slippage cost</dt>
              <dd>{formatNumber(r.slippageAmount)}</dd>
              <dt>Followers' PnL</dt>
              <dd>{formatNumber(r.profit)}</dd>
            </dl>
            <h3>By status</h3>
            <p className="chips">
              {Object.keys(r.byStatus).length === 0 ? (
                <span className="muted">none</span>
              ) : (
                Object.entries(r.byStatus).map(([s, n]) => (
                  <Link key={s} className="chip" to={`/orders?status=${s}`}>
                    {s.replace(/_/g, ' ')} {n}
                  </Link>
                ))
              )}
            </p>
          </div>
        </div>
      )}
      {r && (
        <div className="card">
          <h2>Latency per segment</h2>
          <table className="table" data-testid="latency-table">
            <thead>
              <tr>
                <th>segment</th>
                <th className="num">orders</th>
                <th className="num">p50</th>
                <th className="num">p90</th>
                <th className="num">p99</th>
              </tr>
            </thead>
            <tbody>
              {SEGMENTS.map(([key, label]) => {
                const s = r.latencyMs[key];
                return (
                  <tr key={key}>
                    <td>{label}</td>
                    <td className="num">{s?.count ?? 0}</td>
                    <td className="num">{formatMs(s?.p50)}</td>
                    <td className="num">{formatMs(s?.p90)}</td>
                    <td className="num">{formatMs(s?.p99)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
