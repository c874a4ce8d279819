/**
 * Checks on the EA's source for findings of the MQL review that are about where code runs
 * rather than what it decides (Logic.mqh covers those): each would come back silently with
 * an innocent-looking edit, and no MQL compiler runs here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'include', 'Kopitra');
const files = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.mqh'))
    .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
);
const all = Object.values(files).join('\n');

/** The body of `CKpClass::Method(` up to the next top-level function definition. */
function body(file: string, signature: string): string {
  const text = files[file] ?? '';
  const start = text.indexOf(signature);
  expect(start, `${signature} in ${file}`).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + signature.length);
  const end = rest.search(/\n[a-zA-Z][^\n]*\n {2}\{/);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('EA source', () => {
  it('finding 17: sends only GET and POST (WebRequest documents GET, POST and HEAD), releasing with the POST alias', () => {
    const methods = [...all.matchAll(/(?:Send|Request)\("([A-Z]+)"/g)].map((m) => m[1]);
    expect(new Set(methods)).toEqual(new Set(['GET', 'POST']));
    expect(body('Session.mqh', 'void CKpClient::Deinit(')).toContain('"/sessions/current/release"');
  });

  it('finding 2: OnTradeTransaction only records (no state file write, no HTTP) and the timer rescans the history', () => {
    const handler = body('Master.mqh', 'void CKpApp::OnTransaction(');
    expect(handler).not.toMatch(/Save\(|Request\(|Send\(|Enqueue/);
    expect(body('Master.mqh', 'void CKpApp::BeforeFlush(')).toContain('RescanDeals();');
  });

  it('finding 18: a 401 never runs a nested outbox poll', () => {
    expect(body('Session.mqh', 'void CKpClient::HandleUnauthorized(')).not.toContain('PollOutbox(');
    expect(body('Session.mqh', 'void CKpClient::Timer(')).toContain('m_shutdownFetchDue');
  });

  it('finding 21: a netting add is reported as position.increased, and followers execute trade.increased and spread exits over the copy', () => {
    const classify = body('Master.mqh', 'int CKpApp::ClassifyDeal(');
    expect(classify).toContain('QueueSignal("position.increased"');
    expect(classify).not.toContain('netting_add_on_not_copied');
    const handle = body('Follower.mqh', 'int CKpFollower::HandleTradeEvent(');
    expect(handle).toContain('DoIncrease(payload, recovering, e)');
    expect(body('Follower.mqh', 'void CKpFollower::DoIncrease(')).toContain('KpIncreaseDecision(');
    expect(body('Follower.mqh', 'void CKpFollower::DoPartialClose(')).toContain('SpreadPartialClose(');
    expect(body('Follower.mqh', 'void CKpFollower::DoClose(')).toContain('CloseAllTagged(');
    expect(body('Follower.mqh', 'void CKpFollower::SpreadPartialClose(')).toContain('KpSpreadTake(');
  });

  it('finding 16: rollover, variation margin and split deals are not classified as trades', () => {
    const classify = body('Master.mqh', 'int CKpApp::ClassifyDeal(');
    for (const reason of ['DEAL_REASON_ROLLOVER', 'DEAL_REASON_VMARGIN', 'DEAL_REASON_SPLIT'])
      expect(classify).toContain(reason);
  });

  it('finding 13: an order answered PLACED is followed up, never sent again, and an order number never stands in for a position', () => {
    const open = body('Trade.mqh', 'void CKpTrader::Open(');
    expect(open).not.toContain('m_order');
    expect(body('Trade.mqh', 'void CKpTrader::FailFromResult(')).toMatch(
      /m_rc == 10008[^\n]*\n\s*e\.placedOrder = /,
    );
    const handle = body('Follower.mqh', 'int CKpFollower::HandleTradeEvent(');
    expect(handle).toContain('m_state.Journal(eventId, orderId, "inflight", placed)');
    expect(handle).toContain('jj.ticket = KP_PLACED_PREFIX');
    const doOpen = body('Follower.mqh', 'void CKpFollower::DoOpen(');
    // The placed order is asked about before any lookup or new order.
    expect(doOpen.indexOf('PlacedOrderDecision(')).toBeGreaterThan(0);
    expect(doOpen.indexOf('PlacedOrderDecision(')).toBeLessThan(doOpen.indexOf('FindPosition('));
    expect(doOpen.indexOf('PlacedOrderDecision(')).toBeLessThan(doOpen.indexOf('m_trader.Open('));
  });

  it('finding 23: pending orders — the master scans its orders before its deals, a fill is order.filled and never also position.opened', () => {
    const flush = body('Master.mqh', 'void CKpApp::BeforeFlush(');
    expect(flush).toContain('WatchPendingCopies();');
    expect(flush.indexOf('ScanPendingOrders();')).toBeGreaterThan(0);
    expect(flush.indexOf('ScanPendingOrders();')).toBeLessThan(flush.indexOf('RescanDeals();'));
    expect(flush.indexOf('ScanPendingOrders();')).toBeLessThan(
      flush.indexOf('ScanOrders();', flush.indexOf('#else')),
    );
    const classify = body('Master.mqh', 'int CKpApp::ClassifyDeal(');
    const filled = classify.indexOf('QueueOrderSignal("order.filled"');
    expect(filled).toBeGreaterThan(0);
    // The order's fill returns before the plain open is queued.
    expect(classify.indexOf('return KP_RAW_DONE;', filled)).toBeLessThan(
      classify.indexOf('QueueSignal("position.opened"'),
    );
    const scan = body('Master.mqh', 'void CKpApp::ScanPendingOrders(');
    expect(scan).toContain('KpOrderChange(');
    for (const type of ['order.placed', 'order.modified', 'order.cancelled', 'order.filled'])
      expect(scan).toContain(`"${type}"`);
    // MT4: the filled ticket joins the market book, so ScanOrders does not report it opened.
    expect(scan).toContain('KpPush(m_state.book, b);');
    expect(body('Master.mqh', 'void CKpApp::OnTransaction(')).not.toMatch(/Save\(|Request\(|Send\(|Enqueue/);
  });

  it('finding 23: followers place, modify and delete pending copies with the broker levels checked, and tell fills', () => {
    const handle = body('Follower.mqh', 'int CKpFollower::HandleTradeEvent(');
    for (const call of [
      'DoPlaceOrder(payload, recovering, e)',
      'DoModifyOrder(payload, e)',
      'DoCancelOrder(payload, e)',
    ])
      expect(handle).toContain(call);
    const place = body('Follower.mqh', 'void CKpFollower::DoPlaceOrder(');
    // A replay looks for the order it placed before anything is sent.
    expect(place.indexOf('FindPendingOrder(')).toBeLessThan(place.indexOf('m_trader.PlacePending('));
    expect(place.indexOf('FindFilledOrder(')).toBeLessThan(place.indexOf('m_trader.PlacePending('));
    const trade = files['Trade.mqh'] ?? '';
    expect(trade).toContain('m_trade.OrderOpen(');
    expect(trade).toContain('m_trade.OrderModify(');
    expect(trade).toContain('m_trade.OrderDelete(');
    for (const sig of ['void CKpTrader::PlacePending(', 'void CKpTrader::ModifyPending('])
      for (const part of trade.split(sig).slice(1))
        expect(part.slice(0, part.indexOf('\n  }\n'))).toContain('KpPendingPlacement(');
    for (const sig of ['void CKpTrader::ModifyPending(', 'void CKpTrader::RemovePending('])
      for (const part of trade.split(sig).slice(1))
        expect(part.slice(0, part.indexOf('\n  }\n'))).toContain('KpPendingFrozen(');
    expect(trade).toMatch(/SYMBOL_TRADE_STOPS_LEVEL[\s\S]*SYMBOL_TRADE_FREEZE_LEVEL/);
    expect(trade).toMatch(/MODE_STOPLEVEL[\s\S]*MODE_FREEZELEVEL/);
    const watch = body('Follower.mqh', 'void CKpFollower::WatchPendingCopies(');
    expect(watch).toContain('NoticeOrderFilled(');
    expect(watch).toContain('KpCopyExpiryDue(');
    expect(body('Follower.mqh', 'void CKpFollower::NoticeOrderFilled(')).toContain(
      'w.Str("action", "order_filled")',
    );
    const open = body('Follower.mqh', 'void CKpFollower::DoOpen(');
    expect(open.indexOf('ReplaceOrder(')).toBeGreaterThan(0);
    expect(open.indexOf('ReplaceOrder(')).toBeLessThan(open.indexOf('m_trader.Open('));
    expect(body('Telemetry.mqh', 'string KpBuildSnapshotBody(')).toContain('w.BeginArray("orders")');
  });

  it('finding 9: no StringTrimLeft/Right, whose result differs between MQL4 and MQL5', () => {
    expect(all).not.toMatch(/StringTrim(Left|Right)\s*\(/);
  });

  it('finding 10: magic numbers are written as decimal strings', () => {
    expect(all).not.toMatch(/w\.Int\("magic"/);
    expect(all).toMatch(/w\.Str\("magic", KpMagicString\(/);
  });

  it('finding 12: the state file name goes through KpFileSafeId', () => {
    expect(files['State.mqh']).toMatch(/fileName = "Kopitra\\\\" \+ KpFileSafeId\(accountId\)/);
  });

  it('finding 1: the MT4 master judges a vanished order with KpMt4MissingDecision while connected', () => {
    const scan = body('Master.mqh', 'void CKpApp::ScanOrders(');
    expect(scan).toContain('SettledSec(connected)');
    expect(body('Master.mqh', 'int CKpApp::SettledSec(')).toContain('IsConnected()');
    expect(scan).toContain('KpMt4MissingDecision(');
  });

  it('finding 20: unknown outbox event types go to DoUnknown, which reports them', () => {
    expect(body('Follower.mqh', 'int CKpFollower::HandleTradeEvent(')).toContain('return DoUnknown(');
    expect(body('Follower.mqh', 'int CKpFollower::DoUnknown(')).toContain('"unknown_event_type"');
  });
});
