import { Link, useParams } from 'react-router';
import type { AccountDetail } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { formatMs, formatNumber, formatPercent, formatUtcOffset } from '../../shared/lib/format';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useAccount, useAccountAnalytics, usePatchAccount } from './api';
import { AccountKeys } from './account-keys';
import { SignalSourceCard } from './signal-source-card';
import { AccountSettings } from './account-settings';
import { ManualOrderForm, ManualOrdersTable } from '../orders/manual-orders';

function StatusToggle({ account }: { account: AccountDetail }) {
  const patch = usePatchAccount(account.accountId);
  if (account.status === 'active') {
    return (
      <ConfirmAction
        label="Disable account"
        tone="danger"
        testId="disable-account"
        title={`Disable ${account.accountId}?`}
        confirmLabel="Disable"
        onConfirm={() => patch.mutateAsync({ status: 'disabled' })}
      >
        <p>
          Its live session is terminated at once and new sessions are refused with 403 until the account is
          enabled again. Copying to and from it stops.
        </p>
      </ConfirmAction>
    );
  }
  return (
    <ConfirmAction
      label="Enable account"
      className="primary"
      testId="enable-account"
      title={`Enable ${account.accountId}?`}
      confirmLabel="Enable"
      onConfirm={() => patch.mutateAsync({ status: 'active' })}
    >
      <p>Terminals with an approved key may connect again.</p>
    </ConfirmAction>
  );
}

function Overview({ account }: { account: AccountDetail }) {
  const t = account.telemetry;
  const s = account.latestSession;
  const a = useAccountAnalytics(account.accountId).data;
  return (
    <div className="grid-3">
      <div className="card">
        <h2>Terminal</h2>
        {t ? (
          <dl className="facts">
            <dt>Balance / equity</dt>
            <dd>
              {formatNumber(t.balance)} / {formatNumber(t.equity)} {account.currency ?? ''}
            </dd>
            <dt>Margin / free</dt>
            <dd>
              {formatNumber(t.margin)} / {formatNumber(t.freeMargin)}
            </dd>
            <dt>Open positions</dt>
            <dd>{t.openPositions ?? '—'}</dd>
            <dt>AutoTrading</dt>
            <dd>
              {t.autotradeEnabled === null ? (
                '—'
              ) : t.autotradeEnabled ? (
                'on'
              ) : (
                <StatusBadge status="disabled" />
              )}
            </dd>
            <dt>EA latency</dt>
            <dd>{formatMs(t.latencyMs)}</dd>
            <dt>Broker time</dt>
            <dd data-testid="account-broker-time">
              {t.serverUtcOffsetSec === null
                ? 'not reported (risk-limit days start at UTC midnight)'
                : `${formatUtcOffset(t.serverUtcOffsetSec)} (risk-limit days start at the broker's midnight)`}
            </dd>
            <dt>Last heartbeat</dt>
            <dd>
              <Time iso={t.lastHeartbeatAt} relative />
            </dd>
          </dl>
        ) : (
          <p className="muted">No heartbeat received yet.</p>
        )}
      </div>
      <div className="card">
        <h2>Latest session</h2>
        {s ? (
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={s.status} testId="account-session-status" />{' '}
              {s.statusReason && <span className="muted small">{s.statusReason}</span>}
            </dd>
            <dt>Role</dt>
            <dd>{s.role}</dd>
            <dt>Started</dt>
            <dd>
              <Time iso={s.createdAt} relative />
            </dd>
            <dt>{s.endedAt ? 'Ended' : 'Lease expires'}</dt>
            <dd>
              <Time iso={s.endedAt ?? s.leaseExpiresAt} relative />
            </dd>
          </dl>
        ) : (
          <p className="muted">No terminal has connected.</p>
        )}
        <p>
          <Link to={`/sessions?accountId=${encodeURIComponent(account.accountId)}`}>
            All sessions of this account
          </Link>
        </p>
      </div>
      <div className="card">
        <h2>Copying, last 24 h</h2>
        {a ? (
          <dl className="facts">
            <dt>Copied trades</dt>
            <dd>
              {a.copiedTrades} <span className="muted">of {a.copyOrders} orders</span>
            </dd>
            <dt>Success rate</dt>
            <dd>{formatPercent(a.successRate)}</dd>
            <dt>Latency p50 / p90</dt>
            <dd>
              {formatMs(a.latencyMs['signalToExecuted']?.p50)} /{' '}
              {formatMs(a.latencyMs['signalToExecuted']?.p90)}
            </dd>
            <dt>Slippage p50</dt>
            <dd>{formatNumber(a.slippagePoints.p50)} pts</dd>
            <dt>PnL</dt>
            <dd>{formatNumber(a.profit)}</dd>
          </dl>
        ) : (
          <p className="muted">…</p>
        )}
        <p>
          <Link to={`/orders?followerAccountId=${encodeURIComponent(account.accountId)}`}>Orders</Link> ·{' '}
          <Link to={`/positions?followerAccountId=${encodeURIComponent(account.accountId)}`}>Positions</Link>{' '}
          · <Link to={`/analytics?accountId=${encodeURIComponent(account.accountId)}`}>Analytics</Link>
        </p>
      </div>
    </div>
  );
}

export function AccountPage() {
  const { accountId = '' } = useParams();
  const query = useAccount(accountId);
  const canWrite = useCan('operator');
  const account = query.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/accounts">Accounts</Link> /
      </p>
      <PageHeader title={account?.displayName ? `${accountId} — ${account.displayName}` : accountId}>
        {account && <StatusBadge status={account.status} testId="account-status" />}
        {account && canWrite && <StatusToggle account={account} />}
      </PageHeader>
      <QueryState isPending={query.isPending} error={query.error}>
        {account && (
          <>
            <p className="muted small">
              {account.platform} · registered by {account.registeredBy ?? '—'} · created{' '}
              <Time iso={account.createdAt} />
            </p>
            <Overview account={account} />
            {canWrite && account.latestSession?.status === 'authenticated' && (
              <ManualOrderForm accountId={account.accountId} sessionId={account.latestSession.sessionId} />
            )}
            <div className="card">
              <h2>Manual orders</h2>
              <ManualOrdersTable accountId={account.accountId} />
            </div>
            <AccountKeys accountId={account.accountId} keys={account.keys} />
            <SignalSourceCard accountId={account.accountId} source={account.signalSource} />
            <AccountSettings account={account} />
          </>
        )}
      </QueryState>
    </section>
  );
}
