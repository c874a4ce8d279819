import { Fragment, useState } from 'react';
import { Link } from 'react-router';
import type { CopyOrder } from '@kopitra/contracts';
import { formatMs, formatNumber } from '../../shared/lib/format';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';

const HOPS: Array<[keyof CopyOrder['times'], string]> = [
  ['masterDeal', 'master deal'],
  ['signalReceived', 'signal received'],
  ['written', 'order written'],
  ['delivered', 'delivered to EA'],
  ['acknowledged', 'acknowledged'],
  ['executed', 'executed'],
  ['reported', 'reported'],
  ['expires', 'expires'],
];

const between = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : null);

export function OrderRow({ o, columns }: { o: CopyOrder; columns: number }) {
  const [open, setOpen] = useState(false);
  const latency = between(o.times.signalReceived, o.times.reported);
  return (
    <Fragment>
      <tr data-testid="order-row" data-order-id={o.orderId} className={open ? 'expanded' : undefined}>
        <td>
          <button
            type="button"
            className="link"
            aria-expanded={open}
            onClick={() => setOpen(!open)}
            title="Show timings and details"
          >
            {open ? '▾' : '▸'}
          </button>{' '}
          <Time iso={o.times.written} />
        </td>
        <td>
          <Link to={`/accounts/${encodeURIComponent(o.followerAccountId)}`}>{o.followerAccountId}</Link>
          <div className="muted small">
            from {o.masterAccountId} #{o.masterPositionId}
          </div>
        </td>
        <td>
          {o.kind.replace(/_/g, ' ')}
          {/* Re-opens and late joins are the gateway's own orders, not a master signal's. */}
          {o.origin !== 'signal' && <div className="muted small">{o.origin}</div>}
        </td>
        <td>
          {o.symbol ?? '—'} {o.side && <span className={`side side-${o.side}`}>{o.side}</span>}
        </td>
        <td className="num">{formatNumber(o.volume)}</td>
        <td>
          <StatusBadge status={o.status} />
          {o.reason && (
            <div className="muted small" data-testid="order-reason" title={o.reason}>
              {o.reasonText ?? o.reason}
            </div>
          )}
        </td>
        <td className="num">{formatNumber(o.masterPrice, 5)}</td>
        <td className="num">{formatNumber(o.fillPrice, 5)}</td>
        <td className="num">{formatNumber(o.slippagePoints, 1)}</td>
        <td className="num">{formatMs(latency)}</td>
      </tr>
      {open && (
        <tr className="detail-row">
          <td colSpan={columns}>
            <div className="grid-2">
              <dl className="facts">
                {HOPS.map(([k, label]) => (
                  <Fragment key={k}>
                    <dt>{label}</dt>
                    <dd>
                      <Time iso={o.times[k]} />
                      {k !== 'masterDeal' && k !== 'expires' && o.times[k] && o.times.signalReceived && (
                        <span className="muted small">
                          {' '}
                          +{formatMs(between(o.times.signalReceived, o.times[k]))}
                        </span>
                      )}
                    </dd>
                  </Fragment>
                ))}
              </dl>
              <dl className="facts">
                <dt>Order</dt>
                <dd>
                  <code>{o.orderId}</code>
                </dd>
                <dt>Signal</dt>
                <dd>
                  <code>{o.signalId ?? '—'}</code>
                </dd>
                <dt>Master's signal id</dt>
                <dd>
                  <code>{o.masterSignalId ?? '—'}</code>
                </dd>
                <dt>Master deal</dt>
                <dd>{o.masterDealTicket ?? '—'}</dd>
                {o.reason && (
                  <>
                    <dt>Reason code</dt>
                    <dd>
                      <code>{o.reason}</code>
                    </dd>
                  </>
                )}
                <dt>Group</dt>
                <dd>
                  <Link to={`/groups/${encodeURIComponent(o.groupId)}`}>{o.groupId}</Link>
                </dd>
                <dt>Origin</dt>
                <dd>{o.origin}</dd>
                <dt>Ticket</dt>
                <dd>{o.ticket ?? '—'}</dd>
                <dt>SL / TP</dt>
                <dd>
                  {formatNumber(o.sl, 5)} / {formatNumber(o.tp, 5)}
                </dd>
                <dt>Filled volume</dt>
                <dd>{formatNumber(o.filledVolume)}</dd>
                <dt>Slippage cost</dt>
                <dd>{formatNumber(o.slippageAmount)}</dd>
                <dt>Profit</dt>
                <dd>{formatNumber(o.profit)}</dd>
                {o.detail && (
                  <>
                    <dt>Detail</dt>
                    <dd>{o.detail}</dd>
                  </>
                )}
                {o.errorCode && (
                  <>
                    <dt>Broker code</dt>
                    <dd>
                      <code>{o.errorCode}</code>
                    </dd>
                  </>
                )}
                {o.message && (
                  <>
                    <dt>Broker message</dt>
                    <dd>{o.message}</dd>
                  </>
                )}
              </dl>
            </div>
          </td>
        </tr>
      )}
    </Fragment>
  );
}
