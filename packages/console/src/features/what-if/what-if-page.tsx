import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Group, TaskRun } from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { useCan } from '../../shared/auth/auth-context';
import { formatNumber } from '../../shared/lib/format';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field } from '../../shared/ui/field';
import { ProgressBar } from '../../shared/ui/progress-bar';
import { TimeChart } from '../../shared/ui/time-chart';
import { useGroupChoices, useRunTask } from '../tasks/api';

interface ReplaySide {
  summary: {
    opens: number;
    skipped: number;
    skipReasons: Record<string, number>;
    finalEquity: number;
    maxOpenLots: number;
  };
  orders: Array<{
    signalId: string;
    at: string;
    masterPositionId: string;
    action: string;
    symbol: string;
    side: string;
    volume: number | null;
    reason: string | null;
    status?: string;
  }>;
  curve: Array<{ at: string; equity: number; openPositions: number; openLots: number }>;
}

interface WhatIfResult {
  signals: number;
  startingEquity: number;
  proposed: ReplaySide;
  current: ReplaySide;
}

const FINISHED = new Set(['completed', 'failed']);
const localInput = (t: number) =>
  new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/** The run, re-read until it finishes (the live stream also moves the tasks page). */
function useRun(runId: string | null) {
  const api = useApi();
  return useQuery({
    queryKey: ['what-if-run', runId],
    enabled: runId !== null,
    queryFn: () => api.get<TaskRun>(`/api/admin/task-runs/${encodeURIComponent(runId!)}`),
    refetchInterval: (q) => (q.state.data && FINISHED.has(q.state.data.status) ? false : 500),
  });
}

function OrdersTable({ side, testId }: { side: ReplaySide; testId: string }) {
  const rows = side.orders.slice(0, 200);
  return (
    <table className="table" data-testid={testId}>
      <thead>
        <tr>
          <th>time</th>
          <th>master position</th>
          <th>order</th>
          <th>symbol</th>
          <th>side</th>
          <th>volume</th>
          <th>reason</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((o, i) => (
          <tr key={`${o.signalId}-${i}`} data-testid="what-if-order" data-action={o.action}>
            <td className="small">{new Date(o.at).toLocaleString()}</td>
            <td>{o.masterPositionId}</td>
            <td>
              {o.action}
              {o.status && o.status !== 'skipped' && <div className="muted small">{o.status}</div>}
            </td>
            <td>{o.symbol}</td>
            <td>{o.side}</td>
            <td>{o.volume ?? '—'}</td>
            <td>{o.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Summary({ title, side, testId }: { title: string; side: ReplaySide; testId: string }) {
  const reasons = Object.entries(side.summary.skipReasons);
  return (
    <div className="card" data-testid={testId}>
      <h2>{title}</h2>
      <dl className="facts">
        <dt>Opens</dt>
        <dd data-testid={`${testId}-opens`}>{side.summary.opens}</dd>
        <dt>Skipped</dt>
        <dd data-testid={`${testId}-skipped`}>
          {side.summary.skipped}
          {reasons.length > 0 && ` (${reasons.map(([r, n]) => `${r} ×${n}`).join(', ')})`}
        </dd>
        <dt>Estimated final equity</dt>
        <dd data-testid={`${testId}-equity`}>{formatNumber(side.summary.finalEquity, 2)}</dd>
        <dt>Most lots open</dt>
        <dd>{side.summary.maxOpenLots}</dd>
      </dl>
      <OrdersTable side={side} testId={`${testId}-orders`} />
    </div>
  );
}

/**
 * What-if replay: proposed settings for one follower replayed over the master's recorded
 * signals by the same engine as live copying, beside what the current settings did.
 */
export function WhatIfPage() {
  const canRun = useCan('operator');
  const api = useApi();
  const groups = useGroupChoices();
  const [groupId, setGroupId] = useState('');
  const [followerId, setFollowerId] = useState('');
  const now = Date.now();
  const [from, setFrom] = useState(localInput(now - 7 * 86_400_000));
  const [to, setTo] = useState(localInput(now + 60_000));
  const [settings, setSettings] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const group = useQuery({
    queryKey: ['what-if-group', groupId],
    enabled: groupId !== '',
    queryFn: () => api.get<Group>(`/api/admin/groups/${encodeURIComponent(groupId)}`),
  });
  const runTask = useRunTask('what-if');
  const run = useRun(runId);
  const result = run.data?.status === 'completed' ? (run.data.result as WhatIfResult) : null;

  const chooseFollower = (accountId: string) => {
    setFollowerId(accountId);
    const sub = group.data?.followers.find((f) => f.accountId === accountId);
    setSettings(sub ? JSON.stringify(sub.settings, null, 2) : '');
  };

  const start = async () => {
    let proposed: unknown;
    try {
      proposed = settings.trim() === '' ? undefined : JSON.parse(settings);
    } catch {
      setParseError('The proposed settings are not valid JSON.');
      return;
    }
    setParseError(null);
    const started = await runTask.mutateAsync({
      groupId,
      followerAccountId: followerId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      ...(proposed !== undefined ? { settings: proposed } : {}),
    });
    setRunId(started.runId);
  };

  return (
    <section>
      <h1>What-if replay</h1>
      <p className="muted">
        Replays the master's recorded signals through the copy engine with proposed settings for one follower,
        beside what its current settings did. Equity is estimated at the master's recorded prices.
      </p>
      <div className="card">
        <form
          className="form-grid"
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          <Field label="Copy group">
            <select
              value={groupId}
              data-testid="what-if-group"
              onChange={(e) => {
                setGroupId(e.target.value);
                setFollowerId('');
                setSettings('');
              }}
            >
              <option value="">Choose a group</option>
              {(groups.data ?? []).map((g) => (
                <option key={g.groupId} value={g.groupId}>
                  {g.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Follower">
            <select
              value={followerId}
              data-testid="what-if-follower"
              onChange={(e) => chooseFollower(e.target.value)}
            >
              <option value="">Choose a follower</option>
              {(group.data?.followers ?? []).map((f) => (
                <option key={f.accountId} value={f.accountId}>
                  {f.accountId}
                </option>
              ))}
            </select>
          </Field>
          <Field label="From (your local time)">
            <input
              type="datetime-local"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
              data-testid="what-if-from"
            />
          </Field>
          <Field label="To (your local time)">
            <input
              type="datetime-local"
              value={to}
              onChange={(e) => setTo(e.target.value)}
              data-testid="what-if-to"
            />
          </Field>
          <Field label="Proposed settings (JSON, as a subscription takes them; starts as the current ones)">
            <textarea
              rows={8}
              value={settings}
              data-testid="what-if-settings"
              onChange={(e) => setSettings(e.target.value)}
            />
          </Field>
          {canRun && (
            <button
              type="submit"
              className="primary"
              data-testid="what-if-run"
              disabled={groupId === '' || followerId === '' || runTask.isPending}
            >
              Replay
            </button>
          )}
        </form>
        {parseError && (
          <p className="notice notice-error" role="alert">
            {parseError}
          </p>
        )}
        {runTask.error && <ErrorNotice error={runTask.error} />}
        {run.data && (
          <ProgressBar value={run.data.progress} status={run.data.status} label="What-if replay progress" />
        )}
        {run.data?.status === 'failed' && (
          <p className="notice notice-error" role="alert">
            {run.data.error}
          </p>
        )}
      </div>
      {result && (
        <>
          <div className="card">
            <TimeChart
              testId="what-if-chart"
              title={`Estimated equity over ${result.signals} signals, from ${formatNumber(result.startingEquity, 2)}`}
              times={result.proposed.curve.map((c) => c.at)}
              format={(v) => formatNumber(v, 2)}
              series={[
                {
                  key: 'proposed',
                  label: 'proposed settings',
                  className: 'series-1',
                  values: result.proposed.curve.map((c) => c.equity),
                },
                {
                  key: 'current',
                  label: 'current settings (as copied)',
                  className: 'series-2',
                  values: result.current.curve.map((c) => c.equity),
                },
              ]}
            />
          </div>
          <div className="charts">
            <Summary title="Proposed settings" side={result.proposed} testId="what-if-proposed" />
            <Summary title="Current settings (as copied)" side={result.current} testId="what-if-current" />
          </div>
        </>
      )}
    </section>
  );
}
