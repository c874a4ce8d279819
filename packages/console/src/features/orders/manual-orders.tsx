import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { ManualOrder, ManualOrderRequest, ManualOrderResponse, Page } from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { formatNumber } from '../../shared/lib/format';
import { ConfirmDialog } from '../../shared/ui/confirm-dialog';
import { Field } from '../../shared/ui/field';
import { QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';

export function useManualOrders(accountId?: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.manualOrders, accountId ?? ''],
    queryFn: () =>
      api.get<Page<ManualOrder>>('/api/admin/manual-orders', { accountId, limit: 50 }).then((r) => r.items),
    refetchInterval: 5_000,
  });
}

/** Manual orders, newest first, with what the terminal reported. */
export function ManualOrdersTable({ accountId }: { accountId?: string }) {
  const list = useManualOrders(accountId);
  return (
    <QueryState
      isPending={list.isPending}
      error={list.error}
      empty={list.data?.length === 0}
      emptyText="No manual orders."
    >
      <table className="table" data-testid="manual-orders-table">
        <thead>
          <tr>
            <th>queued</th>
            {!accountId && <th>account</th>}
            <th>order</th>
            <th className="num">lots</th>
            <th className="num">SL / TP</th>
            <th>status</th>
            <th>ticket</th>
            <th>by</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.map((o) => (
            <tr key={o.commandId} data-testid="manual-order-row" data-status={o.status}>
              <td className="small">
                <Time iso={o.queuedAt} />
              </td>
              {!accountId && <td>{o.accountId}</td>}
              <td>
                {o.action} {o.side ?? ''} {o.symbol ?? ''}
              </td>
              <td className="num">{formatNumber(o.volume)}</td>
              <td className="num">
                {o.sl ?? '—'} / {o.tp ?? '—'}
              </td>
              <td>
                <StatusBadge status={o.status} />
                {o.message && <div className="muted small">{o.message}</div>}
              </td>
              <td>{o.ticket ?? '—'}</td>
              <td className="small">{o.requestedBy ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </QueryState>
  );
}

const optionalNumber = (v: string): number | undefined => (v.trim() === '' ? undefined : Number(v));

/**
 * A market order to the account's live session, sent after a confirmation that names the
 * account and the volume. The API's refusal (session not live, invalid volume) is shown in
 * the dialog as the API words it.
 */
export function ManualOrderForm({ accountId, sessionId }: { accountId: string; sessionId: string }) {
  const api = useApi();
  const client = useQueryClient();
  const [symbol, setSymbol] = useState('');
  const [side, setSide] = useState<'buy' | 'sell'>('buy');
  const [volume, setVolume] = useState('0.01');
  const [sl, setSl] = useState('');
  const [tp, setTp] = useState('');
  const [confirm, setConfirm] = useState<{ order: ManualOrderRequest; key: string } | null>(null);
  const [queued, setQueued] = useState<ManualOrderResponse | null>(null);
  const send = useMutation({
    mutationFn: ({ order, key }: { order: ManualOrderRequest; key: string }) =>
      api.post<ManualOrderResponse>(`/api/admin/sessions/${encodeURIComponent(sessionId)}/orders`, order, {
        'idempotency-key': key,
      }),
    onSuccess: (r) => {
      setQueued(r);
      void client.invalidateQueries({ queryKey: [resources.manualOrders] });
    },
  });
  return (
    <form
      className="card form-grid"
      data-testid="manual-order-form"
      onSubmit={(e) => {
        e.preventDefault();
        const slValue = optionalNumber(sl);
        const tpValue = optionalNumber(tp);
        setQueued(null);
        setConfirm({
          // One key per confirmation: a retried request is answered once, not queued twice.
          key: crypto.randomUUID(),
          order: {
            action: 'open',
            symbol: symbol.trim(),
            side,
            volume: Number(volume),
            ...(slValue !== undefined ? { sl: slValue } : {}),
            ...(tpValue !== undefined ? { tp: tpValue } : {}),
          },
        });
      }}
    >
      <h2>Manual order</h2>
      <Field label="Symbol">
        <input required value={symbol} onChange={(e) => setSymbol(e.target.value)} placeholder="EURUSD" />
      </Field>
      <Field label="Side">
        <select value={side} onChange={(e) => setSide(e.target.value as 'buy' | 'sell')}>
          <option>buy</option>
          <option>sell</option>
        </select>
      </Field>
      <Field label="Volume (lots)">
        <input required inputMode="decimal" value={volume} onChange={(e) => setVolume(e.target.value)} />
      </Field>
      <Field label="Stop loss" hint="optional price">
        <input inputMode="decimal" value={sl} onChange={(e) => setSl(e.target.value)} />
      </Field>
      <Field label="Take profit" hint="optional price">
        <input inputMode="decimal" value={tp} onChange={(e) => setTp(e.target.value)} />
      </Field>
      {queued && (
        <p className="notice" role="status" data-testid="manual-order-queued">
          Queued to {queued.accountId} as event {queued.sequence}; its outcome appears below.
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary">
          Review order
        </button>
      </div>
      {confirm && confirm.order.action === 'open' && (
        <ConfirmDialog
          title={`${confirm.order.side === 'buy' ? 'Buy' : 'Sell'} ${confirm.order.volume} lots of ${confirm.order.symbol} on ${accountId}?`}
          confirmLabel="Send order"
          tone="danger"
          onConfirm={() => send.mutateAsync(confirm)}
          onClose={() => setConfirm(null)}
        >
          <p>
            A market order for <strong>{confirm.order.volume} lots</strong> goes to the live terminal of
            account <strong>{accountId}</strong> at once
            {confirm.order.sl !== undefined || confirm.order.tp !== undefined
              ? `, with SL ${confirm.order.sl ?? '—'} and TP ${confirm.order.tp ?? '—'}`
              : ''}
            .
          </p>
        </ConfirmDialog>
      )}
    </form>
  );
}
