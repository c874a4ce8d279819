import type { ReplicationAnalytics } from '@kopitra/contracts';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { formatMs, formatNumber, formatPercent } from '../../shared/lib/format';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { TimeChart } from '../../shared/ui/time-chart';

const WINDOWS: Array<[number, string]> = [
  [24, '24 hours'],
  [48, '48 hours'],
  [168, '7 days'],
  [720, '30 days'],
];

const HOPS = [
  ['signalToDelivered', 'signal → delivery', 'series-1'],
  ['deliveredToAcknowledged', 'delivery → ack', 'series-2'],
  ['acknowledgedToExecuted', 'ack → execution', 'series-3'],
  ['signalToExecuted', 'signal → execution (total)', 'series-4'],
] as const;

const ms = (v: number) => (v >= 1000 ? `${formatNumber(v / 1000, 1)} s` : `${Math.round(v)} ms`);

/** Copying of one follower account or one copy group: latency per hop, slippage and PnL over time. */
export function AnalyticsPage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const accountId = params.get('accountId') ?? '';
  const groupId = params.get('groupId') ?? '';
  const hours = Number(params.get('hours') ?? 24) || 24;
  const scope = accountId
    ? { kind: 'account', id: accountId }
    : groupId
      ? { kind: 'group', id: groupId }
      : null;
  const [draft, setDraft] = useState({ kind: 'account', id: '' });
  const query = useQuery({
    queryKey: [resources.analytics, scope?.kind, scope?.id, hours],
    enabled: scope !== null,
    queryFn: () =>
      api.get<ReplicationAnalytics>(
        `/api/admin/analytics/${scope!.kind === 'account' ? 'accounts' : 'groups'}/${encodeURIComponent(scope!.id)}`,
        { hours },
      ),
  });
  const set = (next: Record<string, string>) => setParams({ ...Object.fromEntries(params), ...next });
  const a = query.data;
  const times = a?.series.map((p) => p.at) ?? [];
  return (
    <section>
      <PageHeader title={scope ? `Analytics — ${scope.kind} ${scope.id}` : 'Analytics'}>
        <label className="field">
          <span>Window</span>
          <select value={hours} onChange={(e) => set({ hours: e.target.value })}>
            {WINDOWS.map(([h, label]) => (
              <option key={h} value={h}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <form
        className="filters"
        data-testid="analytics-scope"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.id.trim())
            setParams({
              [draft.kind === 'account' ? 'accountId' : 'groupId']: draft.id.trim(),
              hours: String(hours),
            });
        }}
      >
        <label className="field">
          <span>Scope</span>
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })}>
            <option value="account">follower account</option>
            <option value="group">copy group</option>
          </select>
        </label>
        <label className="field">
          <span>Id</span>
          <input value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value })} />
        </label>
        <button type="submit">Show</button>
      </form>
      {!scope && (
        <p className="muted">
          Pick a follower account or a copy group — or open one from <Link to="/accounts">Accounts</Link> or{' '}
          <Link to="/groups">Copy groups</Link>.
        </p>
      )}
      {scope && (
        <QueryState isPending={query.isPending} error={query.error}>
          {a && (
            <>
              <div className="grid-3">
                <div className="card">
                  <h2>Copying</h2>
                  <dl className="facts" data-testid="analytics-facts">
                    <dt>Copied trades</dt>
                    <dd>
                      {a.copiedTrades} <span className="muted">of {a.copyOrders} orders</span>
                    </dd>
                    <dt>Success rate</dt>
                    <dd>{formatPercent(a.successRate)}</dd>
                    <dt>PnL</dt>
                    <dd data-testid="analytics-profit">{formatNumber(a.profit)}</dd>
                  </dl>
                </div>
                <div className="card">
                  <h2>Latency p50 / p90</h2>
                  <dl className="facts">
                    {HOPS.map(([key, label]) => (
                      <Fragment key={key}>
                        <dt>{label}</dt>
                        <dd>
                          {formatMs(a.latencyMs[key]?.p50)} / {formatMs(a.latencyMs[key]?.p90)}
                        </dd>
                      </Fragment>
                    ))}
                  </dl>
                </div>
                <div className="card">
                  <h2>Slippage</h2>
                  <dl className="facts">
                    <dt>p50 / p90</dt>
                    <dd>
                      {formatNumber(a.slippagePoints.p50)} / {formatNumber(a.slippagePoints.p90)} pts
                    </dd>
                    <dt>In account currency</dt>
                    <dd>{formatNumber(a.slippageAmount)}</dd>
                  </dl>
                </div>
              </div>
              <div className="charts">
                <div className="card">
                  <TimeChart
                    testId="latency-hops-chart"
                    title={`Latency per hop, median per ${a.bucketMinutes >= 1440 ? 'day' : 'hour'}`}
                    times={times}
                    format={ms}
                    series={HOPS.map(([key, label, className]) => ({
                      key,
                      label,
                      className,
                      values: a.series.map((p) => p.latencyMs[key]),
                    }))}
                  />
                </div>
                <div className="card">
                  <TimeChart
                    testId="slippage-chart"
                    title="Slippage of fills, mean points"
                    times={times}
                    format={(v) => `${formatNumber(v, 1)} pts`}
                    series={[
                      {
                        key: 'slippage',
                        label: 'slippage',
                        className: 'series-2',
                        values: a.series.map((p) => p.slippagePoints),
                      },
                    ]}
                  />
                </div>
                <div className="card">
                  <TimeChart
                    testId="pnl-chart"
                    title="PnL over time"
                    times={times}
                    format={(v) => formatNumber(v)}
                    series={[
                      {
                        key: 'cumulative',
                        label: 'cumulative PnL',
                        className: 'series-1',
                        values: a.series.map((p) => p.cumulativeProfit),
                      },
                      {
                        key: 'profit',
                        label: 'PnL of the bucket',
                        className: 'series-3',
                        values: a.series.map((p) => p.profit),
                      },
                    ]}
                  />
                </div>
              </div>
            </>
          )}
        </QueryState>
      )}
    </section>
  );
}
