//+------------------------------------------------------------------+
//| Kopitra/Master.mqh — reporting the master terminal's trades        |
//|                                                                    |
//| MT5: OnTradeTransaction only records the deal / position ticket    |
//| (memory + state file) and returns: "If OnTradeTransaction()        |
//| handles yet another transaction for too long, the previous ones    |
//| can be superseded" (queue of 1024,                                 |
//| https://www.mql5.com/en/docs/event_handlers/ontradetransaction).   |
//| OnTimer classifies each deal from the deal history and queues one  |
//| POST /signals per master event:                                    |
//|   DEAL_ENTRY_IN                      → position.opened              |
//|   DEAL_ENTRY_IN into an open position → position.increased (netting)|
//|   DEAL_ENTRY_OUT / OUT_BY, rest > 0  → position.partially_closed    |
//|   DEAL_ENTRY_OUT / OUT_BY, rest = 0  → position.closed              |
//|   DEAL_ENTRY_INOUT (netting reversal)→ position.closed + opened     |
//|   TRADE_TRANSACTION_POSITION (SL/TP) → position.modified            |
//| masterPositionId = DEAL_POSITION_ID, dealTicket = DEAL_TICKET      |
//| (https://www.mql5.com/en/docs/constants/tradingconstants/dealproperties).
//| The position's volume before/after a deal is summed from its deals |
//| (HistorySelectByPosition), so the result does not depend on when   |
//| the timer runs. Every timer tick also rescans the deal history     |
//| from the last deal handled, so a transaction the terminal dropped  |
//| (or a deal made while the EA was off, or before the history had    |
//| synced at start) is still reported; the seen-deal set keeps each   |
//| deal to one report. Broker housekeeping deals (rollover, variation |
//| margin, split) are not trades and are not reported.                |
//|                                                                    |
//| MT4 has no trade events: OnTimer compares the market orders with   |
//| the last snapshot (kept in the state file):                        |
//|   new ticket                          → position.opened             |
//|   new ticket "from #old" / old "to #new" → position.partially_closed|
//|   lots shrank on the same ticket      → position.partially_closed   |
//|   ticket vanished, closed in history  → position.closed             |
//|   ticket vanished, no history record  → position.closed only after  |
//|     KP_MISS_LIMIT scans while connected and settled (Logic.mqh):   |
//|     after a restart, reconnect or login switch the order list is   |
//|     empty or partial for a while, and a close sent then would     |
//|     close every follower's copy                                    |
//|   SL/TP changed                       → position.modified           |
//| masterPositionId stays the ticket that opened the position, across |
//| partial closes (https://docs.mql4.com/trading/orderselect).        |
//|                                                                    |
//| Pending orders (both platforms): every timer tick compares the     |
//| terminal's pending orders with the last scan (kept in the state    |
//| file), KpOrderChange in Logic.mqh decides:                         |
//|   new pending ticket                  → order.placed                |
//|   price, stop-limit, SL, TP or expiry → order.modified              |
//|   gone, deleted or rejected           → order.cancelled             |
//|   gone at its expiry                  → order.cancelled             |
//|   filled                              → order.filled (masterOrderId |
//|     and masterPositionId), never also position.opened: MT4's ticket |
//|     turns OP_BUY/OP_SELL and enters the market book; MT5's entry-in |
//|     deal whose DEAL_ORDER is a reported order sends order.filled    |
//| MT5 scans too (OnTradeTransaction's ORDER_* transactions are not   |
//| needed): a scan cannot miss a dropped transaction. An order placed |
//| and filled between two scans was never copied: its position is a  |
//| plain position.opened. Orders found at the first start are not    |
//| reported (like positions); if they fill, position.opened.          |
//+------------------------------------------------------------------+
#ifndef KOPITRA_MASTER_MQH
#define KOPITRA_MASTER_MQH

#include "Follower.mqh"

#define KP_RAW_DONE  0
#define KP_RAW_RETRY 1

class CKpApp : public CKpFollower
  {
protected:
   // last SL/TP reported per master position (MT5), so repeated POSITION transactions send one modify
   long              m_levelIds[];
   double            m_levelSl[];
   double            m_levelTp[];

   virtual void      BeforeFlush(void);
   void              RememberLevels(const long positionId, const double sl, const double tp);
   bool              LevelsUnchanged(const long positionId, const double sl, const double tp);
   void              QueueSignal(const string type, const string signalId, const string positionId, const string symbol, const string side,
                                 const double volume, const double remaining, const double price, const bool withLevels, const double sl, const double tp,
                                 const long magic, const string comment, const string occurredAt, const string dealTicket);
   string            OccurredAtMsc(const long serverMsc);
   string            OccurredAt(const datetime serverTime);
   ulong             m_connectedSinceMs;   // 0 = not connected at the last scan
   int               SettledSec(bool &connected);
   void              QueueOrderSignal(const string type, const string signalId, CKpMasterOrder *o, const string positionId, const double price,
                                      const string occurredAt, const string dealTicket);
   int               ReadPendingOrders(CKpMasterOrder* &cur[], bool &settled[]);
   void              ScanPendingOrders(void);
#ifdef __MQL5__
   void              CatchUpDeals(void);
   void              RescanDeals(void);
   int               ClassifyDeal(const long ticket);
   int               ClassifyPosition(CKpRawTx *r);
   bool              NetVolumes(const long positionId, const long dealTicket, const long dealMsc, double &before, double &after);
#else
   void              ScanOrders(void);
#endif

public:
                     CKpApp(void) { m_connectedSinceMs = 0; }
   bool              Start(const KpConfig &cfg);
#ifdef __MQL5__
   void              OnTransaction(const MqlTradeTransaction &trans);
#endif
  };

bool CKpApp::Start(const KpConfig &cfg)
  {
   if(!Init(cfg))
      return false;
   SetupTrader();
   if(m_cfg.role == KP_ROLE_MASTER)
     {
      ScanPendingOrders();
#ifdef __MQL5__
      CatchUpDeals();
#else
      ScanOrders();
#endif
     }
   return true;
  }

void CKpApp::BeforeFlush(void)
  {
   if(m_cfg.role != KP_ROLE_MASTER)
     {
      WatchPendingCopies();
      return;
     }
   // Orders before deals: a fill is told as order.filled only for an order already reported placed.
   ScanPendingOrders();
#ifdef __MQL5__
   RescanDeals();
   bool changed = false;
   while(ArraySize(m_state.raw) > 0)
     {
      CKpRawTx *r = m_state.raw[0];
      int result = (r.kind == "deal") ? ClassifyDeal(r.ticket) : ClassifyPosition(r);
      if(result == KP_RAW_RETRY)
        {
         // The deal is not in the terminal's history yet: keep the order of events and wait.
         r.tries++;
         if(r.tries < 50)
            break;
         KpLog(StringFormat("deal #%I64d never appeared in the history; it is not reported", r.ticket));
        }
      delete r;
      KpRemoveAt(m_state.raw, 0);
      changed = true;
     }
   if(changed)
      m_state.Save();
#else
   ScanOrders();
#endif
  }

void CKpApp::RememberLevels(const long positionId, const double sl, const double tp)
  {
   for(int i = 0; i < ArraySize(m_levelIds); i++)
      if(m_levelIds[i] == positionId)
        {
         m_levelSl[i] = sl;
         m_levelTp[i] = tp;
         return;
        }
   if(ArraySize(m_levelIds) >= 1000)
     {
      KpRemoveAt(m_levelIds, 0);
      KpRemoveAt(m_levelSl, 0);
      KpRemoveAt(m_levelTp, 0);
     }
   KpPush(m_levelIds, positionId);
   KpPush(m_levelSl, sl);
   KpPush(m_levelTp, tp);
  }

bool CKpApp::LevelsUnchanged(const long positionId, const double sl, const double tp)
  {
   for(int i = 0; i < ArraySize(m_levelIds); i++)
      if(m_levelIds[i] == positionId)
         return MathAbs(m_levelSl[i] - sl) < 1e-10 && MathAbs(m_levelTp[i] - tp) < 1e-10;
   return false;
  }

/** occurredAt from a server-time deal time in ms; never later than now. */
string CKpApp::OccurredAtMsc(const long serverMsc)
  {
   long utc = KpServerMscToUtcMsc(serverMsc);
   long now = (long)KpNowUtc() * 1000;
   if(utc <= 0 || utc > now + 1000)
      utc = now;
   return KpIsoMsc(utc);
  }

string CKpApp::OccurredAt(const datetime serverTime)
  {
   return OccurredAtMsc((long)serverTime * 1000);
  }

/**
 * POST /signals body (ea/testdata/signals-*.json). Queued with Idempotency-Key "sig:<signalId>";
 * signalId is derived from the deal/ticket, so a signal re-sent after a restart is recognised.
 */
void CKpApp::QueueSignal(const string type, const string signalId, const string positionId, const string symbol, const string side,
                         const double volume, const double remaining, const double price, const bool withLevels, const double sl, const double tp,
                         const long magic, const string comment, const string occurredAt, const string dealTicket)
  {
   if(volume <= 0.0)
     {
      KpLog(StringFormat("%s of %s skipped: volume %s", type, positionId, KpFormatNumber(volume, 8)));
      return;
     }
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   if(digits <= 0)
      digits = 8;
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("signalId", signalId);
   w.Str("type", type);
   w.Str("masterPositionId", positionId);
   w.Str("symbol", symbol);
   w.Str("side", side);
   w.Num("volume", volume, 8);
   if(remaining >= 0.0)
      w.Num("remainingVolume", remaining, 8);
   w.Num("price", MathMax(0.0, price), digits);
   if(withLevels)
     {
      w.Level("sl", sl, digits);
      w.Level("tp", tp, digits);
     }
   w.Str("magic", KpMagicString(magic, KP_MAGIC_UNSIGNED));
   w.Str("comment", StringSubstr(comment, 0, 64));
   w.Str("occurredAt", occurredAt);
   if(dealTicket != "")
      w.Str("dealTicket", dealTicket);
   w.EndObject();
   string label = StringFormat("signal %s %s %s %s %s", type, positionId, symbol, side, KpFormatNumber(volume, 8));
   EnqueueRequest("signal", "/signals", w.Text(), "sig:" + signalId, label, true, true);
   KpLog("captured " + label + " @ " + KpFormatNumber(price, digits));
  }

/** Seconds connected without a break (0 while offline): an order list just after a (re)connect may still be syncing. */
int CKpApp::SettledSec(bool &connected)
  {
#ifdef __MQL5__
   connected = TerminalInfoInteger(TERMINAL_CONNECTED) != 0;
#else
   connected = IsConnected();
#endif
   if(!connected)
      m_connectedSinceMs = 0;
   else if(m_connectedSinceMs == 0)
      m_connectedSinceMs = NowMs();
   return connected ? (int)((NowMs() - m_connectedSinceMs) / 1000) : 0;
  }

/**
 * POST /signals body of a pending order (OrderSignalRequest, ea/testdata/signals-*.json),
 * queued with Idempotency-Key "sig:<signalId>" like every signal.
 */
void CKpApp::QueueOrderSignal(const string type, const string signalId, CKpMasterOrder *o, const string positionId, const double price,
                              const string occurredAt, const string dealTicket)
  {
   if(o.volume <= 0.0)
     {
      KpLog(StringFormat("%s of order #%I64d skipped: volume %s", type, o.ticket, KpFormatNumber(o.volume, 8)));
      return;
     }
   int digits = (int)SymbolInfoInteger(o.symbol, SYMBOL_DIGITS);
   if(digits <= 0)
      digits = 8;
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("signalId", signalId);
   w.Str("type", type);
   w.Str("masterOrderId", KpTicketStr(o.ticket));
   if(positionId != "")
      w.Str("masterPositionId", positionId);
   w.Str("symbol", o.symbol);
   w.Str("side", o.side);
   w.Str("orderType", KpOrderKindName(o.kind));
   w.Num("volume", o.volume, 8);
   w.Num("price", MathMax(0.0, price), digits);
   if(o.kind == KP_ORDER_STOP_LIMIT)
      w.Level("stopLimitPrice", o.stopLimit, digits);
   w.Level("sl", o.sl, digits);
   w.Level("tp", o.tp, digits);
   if(o.expiresAt > 0)
      w.Str("expiresAt", KpIso((datetime)o.expiresAt));
   else
      w.Null("expiresAt");
   w.Str("magic", KpMagicString(o.magic, KP_MAGIC_UNSIGNED));
   w.Str("comment", StringSubstr(o.comment, 0, 64));
   w.Str("occurredAt", occurredAt);
   if(dealTicket != "")
      w.Str("dealTicket", dealTicket);
   w.EndObject();
   string label = StringFormat("signal %s %s %s %s %s %s", type, KpTicketStr(o.ticket), o.symbol, o.side, KpOrderKindName(o.kind), KpFormatNumber(o.volume, 8));
   EnqueueRequest("signal", "/signals", w.Text(), "sig:" + signalId, label, true, true);
   KpLog("captured " + label + " @ " + KpFormatNumber(price, digits));
  }

/**
 * The terminal's pending orders now, as CKpMasterOrder objects (the caller deletes them).
 * `settled[i]`: the order is working at the trade server (MT5 ORDER_STATE_PLACED or
 * _PARTIAL; an order still being added or modified is listed but not judged yet).
 */
int CKpApp::ReadPendingOrders(CKpMasterOrder* &cur[], bool &settled[])
  {
   ArrayResize(cur, 0);
   ArrayResize(settled, 0);
   for(int i = 0; i < OrdersTotal(); i++)
     {
      bool buy = false;
      int kind = KP_ORDER_NONE;
#ifdef __MQL5__
      ulong t = OrderGetTicket(i);   // selects the order
      if(t == 0 || !KpMt5OrderKind(OrderGetInteger(ORDER_TYPE), buy, kind))
         continue;
      long state = OrderGetInteger(ORDER_STATE);
      long typeTime = OrderGetInteger(ORDER_TYPE_TIME);
      CKpMasterOrder *o = new CKpMasterOrder();
      o.ticket = (long)t;
      o.symbol = OrderGetString(ORDER_SYMBOL);
      o.volume = OrderGetDouble(ORDER_VOLUME_CURRENT);
      o.price = OrderGetDouble(ORDER_PRICE_OPEN);
      o.stopLimit = kind == KP_ORDER_STOP_LIMIT ? OrderGetDouble(ORDER_PRICE_STOPLIMIT) : 0.0;
      o.sl = OrderGetDouble(ORDER_SL);
      o.tp = OrderGetDouble(ORDER_TP);
      if(typeTime == ORDER_TIME_SPECIFIED || typeTime == ORDER_TIME_SPECIFIED_DAY)
         o.expiresAt = (long)KpServerToUtc((datetime)OrderGetInteger(ORDER_TIME_EXPIRATION));
      o.magic = OrderGetInteger(ORDER_MAGIC);
      o.comment = OrderGetString(ORDER_COMMENT);
      bool working = (state == ORDER_STATE_PLACED || state == ORDER_STATE_PARTIAL);
#else
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || !KpMt4OrderKind(OrderType(), buy, kind))
         continue;
      CKpMasterOrder *o = new CKpMasterOrder();
      o.ticket = (long)OrderTicket();
      o.symbol = OrderSymbol();
      o.volume = OrderLots();
      o.price = OrderOpenPrice();
      o.sl = OrderStopLoss();
      o.tp = OrderTakeProfit();
      if(OrderExpiration() > 0)
         o.expiresAt = (long)KpServerToUtc(OrderExpiration());
      o.magic = (long)OrderMagicNumber();
      o.comment = OrderComment();
      bool working = true;
#endif
      o.side = buy ? "buy" : "sell";
      o.kind = kind;
      KpPush(cur, o);
      KpPush(settled, working);
     }
   return ArraySize(cur);
  }

void CKpApp::ScanPendingOrders(void)
  {
   if(m_cfg.role != KP_ROLE_MASTER)
      return;
   bool connected = false;
   int settledSec = SettledSec(connected);
   CKpMasterOrder *cur[];
   bool working[];
   int nc = ReadPendingOrders(cur, working);
   bool changed = false;
   if(!m_state.ordersReady)
     {
      // First start: orders already there are not reported (nor copied); if one fills, its position is a plain open.
      for(int c = 0; c < nc; c++)
         KpPush(m_state.orders, cur[c]);
      m_state.ordersReady = true;
      m_state.Save();
      KpLog(StringFormat("first start as master: %d pending order(s) tracked; orders placed from now on are reported", nc));
      return;
     }
   bool seen[];
   ArrayResize(seen, nc);
   for(int c = 0; c < nc; c++)
      seen[c] = false;
   for(int i = ArraySize(m_state.orders) - 1; i >= 0; i--)
     {
      CKpMasterOrder *o = m_state.orders[i];
      int at = -1;
      for(int c = 0; c < nc; c++)
         if(cur[c].ticket == o.ticket)
           {
            at = c;
            seen[c] = true;
            break;
           }
      if(o.filled)
        {
         // Partly filled and reported: its rest is followed by its deals; forgotten once it stops working.
         if(at < 0)
           {
            m_state.DropOrder(i);
            changed = true;
           }
         continue;
        }
      if(at >= 0 && !working[at])
         continue;   // being added or changed at the trade server: judged on a later scan
      if(at >= 0 && cur[at].kind != o.kind)
        {
         // MT5 stop-limit reached its price and became a limit order: the copies (stop-limits
         // too) convert themselves at the same price, so nothing is sent.
         CKpMasterOrder *n = cur[at];
         KpLog(StringFormat("order #%I64d triggered: now a %s %s at %s", o.ticket, o.side, KpOrderKindName(n.kind), KpFormatNumber(n.price, 8)));
         o.kind = n.kind;
         o.price = n.price;
         o.stopLimit = n.stopLimit;
         o.sl = n.sl;
         o.tp = n.tp;
         o.expiresAt = n.expiresAt;
         changed = true;
         continue;
        }
      bool listed = at >= 0;
      bool isMarket = false;
      int history = KP_OHIST_NONE;
      double fillPrice = 0.0;
      string doneAt = KpNowIso();
#ifdef __MQL5__
      if(!listed && HistoryOrderSelect((ulong)o.ticket))
        {
         history = KpMt5OrderHistory(HistoryOrderGetInteger((ulong)o.ticket, ORDER_STATE));
         doneAt = OccurredAtMsc(HistoryOrderGetInteger((ulong)o.ticket, ORDER_TIME_DONE_MSC));
        }
#else
      if(!listed && OrderSelect((int)o.ticket, SELECT_BY_TICKET))
        {
         isMarket = (OrderType() == OP_BUY || OrderType() == OP_SELL);
         listed = isMarket && OrderCloseTime() == 0;
         history = KpMt4OrderHistory(OrderCloseTime() != 0, isMarket, (long)OrderCloseTime(), (long)OrderExpiration());
         fillPrice = OrderOpenPrice();
         doneAt = isMarket ? OccurredAt(OrderOpenTime()) : (OrderCloseTime() != 0 ? OccurredAt(OrderCloseTime()) : doneAt);
        }
#endif
      bool levels = false;
      if(at >= 0)
        {
         CKpMasterOrder *n = cur[at];
         levels = MathAbs(n.price - o.price) > 1e-10 || MathAbs(n.stopLimit - o.stopLimit) > 1e-10 || MathAbs(n.sl - o.sl) > 1e-10
                  || MathAbs(n.tp - o.tp) > 1e-10 || n.expiresAt != o.expiresAt;
        }
      int change = KpOrderChange(true, listed, isMarket, levels, history, connected, settledSec, o.misses);
      string t = KpTicketStr(o.ticket);
#ifdef __MQL5__
      string prefix = "mt5-o";
#else
      string prefix = "mt4-o";
#endif
      if(change == KP_OCHG_NONE)
        {
         o.misses = 0;
         continue;
        }
      if(change == KP_OCHG_WAIT)
        {
         if(connected && settledSec >= KP_MISS_SETTLE_SEC)
            o.misses++;
         continue;
        }
      if(change == KP_OCHG_MODIFIED)
        {
         CKpMasterOrder *n = cur[at];
         o.price = n.price;
         o.stopLimit = n.stopLimit;
         o.sl = n.sl;
         o.tp = n.tp;
         o.expiresAt = n.expiresAt;
         o.volume = n.volume;
         if(o.reported)
            QueueOrderSignal("order.modified", prefix + t + "-m" + KpUniqueSuffix(), o, "", o.price, KpNowIso(), "");
         changed = true;
         continue;
        }
      if(change == KP_OCHG_FILLED)
        {
#ifdef __MQL5__
         // The entry-in deal of this order reports it (ClassifyDeal); kept until then.
         if(++o.misses <= 600)
            continue;
         KpLog(StringFormat("order #%s filled but its deal was never classified; its copies are cancelled", t));
         if(o.reported)
            QueueOrderSignal("order.cancelled", prefix + t + "-cancelled", o, "", o.price, doneAt, "");
#else
         if(o.reported)
           {
            // The ticket is a market order now: order.filled, and the market book follows it
            // from here (its close, partial closes and SL/TP), without a position.opened.
            o.sl = OrderStopLoss();
            o.tp = OrderTakeProfit();
            QueueOrderSignal("order.filled", prefix + t + "-filled", o, t, fillPrice, doneAt, "");
            CKpBookEntry *b = new CKpBookEntry();
            b.ticket = o.ticket;
            b.root = t;
            b.symbol = o.symbol;
            b.side = o.side;
            b.lots = OrderLots();
            b.price = fillPrice;
            b.sl = o.sl;
            b.tp = o.tp;
            b.magic = o.magic;
            b.comment = OrderComment();
            KpPush(m_state.book, b);
           }
#endif
         m_state.DropOrder(i);
         changed = true;
         continue;
        }
      // cancelled, expired, or gone without a trace for many connected scans
      if(o.reported)
         QueueOrderSignal("order.cancelled", prefix + t + "-cancelled", o, "", o.price, doneAt, "");
      KpLog(StringFormat("order #%s %s", t, change == KP_OCHG_EXPIRED ? "expired" : change == KP_OCHG_GONE ? "is gone without a history record (set the history tab to All History); reported cancelled" : "was deleted"));
      m_state.DropOrder(i);
      changed = true;
     }
   for(int c = 0; c < nc; c++)
     {
      // Known orders were judged above; one still being added is judged on a later scan.
      if(seen[c] || !working[c] || KpOrderChange(false, true, false, false, KP_OHIST_NONE, connected, settledSec, 0) != KP_OCHG_PLACED)
        {
         delete cur[c];
         continue;
        }
      CKpMasterOrder *o = cur[c];
      o.reported = true;
      string t = KpTicketStr(o.ticket);
#ifdef __MQL5__
      string at = OrderSelect((ulong)o.ticket) ? OccurredAtMsc(OrderGetInteger(ORDER_TIME_SETUP_MSC)) : KpNowIso();
      QueueOrderSignal("order.placed", "mt5-o" + t + "-placed", o, "", o.price, at, "");
#else
      string at = OrderSelect((int)o.ticket, SELECT_BY_TICKET) ? OccurredAt(OrderOpenTime()) : KpNowIso();
      QueueOrderSignal("order.placed", "mt4-o" + t + "-placed", o, "", o.price, at, "");
#endif
      KpPush(m_state.orders, o);
      changed = true;
     }
   if(changed)
      m_state.Save();
  }

//====================================================================
#ifdef __MQL5__
//====================================================================

void CKpApp::OnTransaction(const MqlTradeTransaction &trans)
  {
   if(m_cfg.role != KP_ROLE_MASTER)
      return;
   // Only record here, in memory: classification, saving and HTTP happen in OnTimer. A
   // transaction lost here (queue overflow while OnTimer waits in WebRequest) is found again
   // by RescanDeals.
   if(trans.type == TRADE_TRANSACTION_DEAL_ADD)
      m_state.AddRaw("deal", (long)trans.deal, trans.symbol, 0.0, 0.0);
   else if(trans.type == TRADE_TRANSACTION_POSITION)
      m_state.AddRaw("position", (long)trans.position, trans.symbol, trans.price_sl, trans.price_tp);
  }

/** Deals in the history since the last one handled that are neither handled nor waiting: queued for classification. */
void CKpApp::RescanDeals(void)
  {
   if(m_state.lastDealMsc <= 0)
      return;
   datetime from = (datetime)(m_state.lastDealMsc / 1000) - 1;
   if(!HistorySelect(from, TimeTradeServer() + 86400))
      return;
   int added = 0;
   for(int i = 0; i < HistoryDealsTotal(); i++)
     {
      ulong d = HistoryDealGetTicket(i);
      if(d == 0 || m_state.SeenDeal((long)d) || m_state.HasRaw("deal", (long)d))
         continue;
      if(HistoryDealGetInteger(d, DEAL_TIME_MSC) < m_state.lastDealMsc)
         continue;
      long type = HistoryDealGetInteger(d, DEAL_TYPE);
      if(type != DEAL_TYPE_BUY && type != DEAL_TYPE_SELL)
         continue;
      m_state.AddRaw("deal", (long)d, HistoryDealGetString(d, DEAL_SYMBOL), 0.0, 0.0);
      added++;
     }
   if(added > 0)
      KpLogThrottled("rescan", StringFormat("%d deal(s) found in the history without a trade event (missed transaction, or made while the EA was off); reporting them", added), 60);
  }

/** Deals executed while the EA was not running (terminal closed, EA removed) since the last one handled. */
void CKpApp::CatchUpDeals(void)
  {
   long nowMsc = (long)TimeTradeServer() * 1000;
   if(m_state.lastDealMsc <= 0)
     {
      // First start: positions already open are not reported as new.
      m_state.lastDealMsc = nowMsc;
      m_state.Save();
      KpLog("first start as master: trades from now on are reported");
      return;
     }
   datetime from = (datetime)(m_state.lastDealMsc / 1000) - 1;
   if(!HistorySelect(from, TimeTradeServer() + 86400))
      return;
   int added = 0;
   for(int i = 0; i < HistoryDealsTotal(); i++)
     {
      ulong d = HistoryDealGetTicket(i);
      if(d == 0 || m_state.SeenDeal((long)d))
         continue;
      if(HistoryDealGetInteger(d, DEAL_TIME_MSC) < m_state.lastDealMsc)
         continue;
      long type = HistoryDealGetInteger(d, DEAL_TYPE);
      if(type != DEAL_TYPE_BUY && type != DEAL_TYPE_SELL)
         continue;
      m_state.AddRaw("deal", (long)d, HistoryDealGetString(d, DEAL_SYMBOL), 0.0, 0.0);
      added++;
     }
   if(added > 0)
     {
      KpLog(StringFormat("%d deal(s) happened while the EA was not running; reporting them (the gateway expires opens older than the subscription's maximum signal age)", added));
      m_state.Save();
     }
  }

/** Signed (buy +, sell −) volume of a position just before and just after one of its deals. */
bool CKpApp::NetVolumes(const long positionId, const long dealTicket, const long dealMsc, double &before, double &after)
  {
   before = 0.0;
   after = 0.0;
   // https://www.mql5.com/en/docs/trading/historyselectbyposition
   if(!HistorySelectByPosition(positionId))
      return false;
   bool found = false;
   for(int i = 0; i < HistoryDealsTotal(); i++)
     {
      ulong t = HistoryDealGetTicket(i);
      if(t == 0)
         continue;
      long type = HistoryDealGetInteger(t, DEAL_TYPE);
      if(type != DEAL_TYPE_BUY && type != DEAL_TYPE_SELL)
         continue;
      long msc = HistoryDealGetInteger(t, DEAL_TIME_MSC);
      if(msc > dealMsc || (msc == dealMsc && (long)t > dealTicket))
         continue;
      double v = HistoryDealGetDouble(t, DEAL_VOLUME) * (type == DEAL_TYPE_BUY ? 1.0 : -1.0);
      after += v;
      if((long)t == dealTicket)
         found = true;
      else
         before += v;
     }
   before = KpVol(before);
   after = KpVol(after);
   return found;
  }

int CKpApp::ClassifyDeal(const long ticket)
  {
   if(m_state.SeenDeal(ticket))
      return KP_RAW_DONE;
   if(!HistoryDealSelect((ulong)ticket))
      return KP_RAW_RETRY;
   ulong d = (ulong)ticket;
   long type = HistoryDealGetInteger(d, DEAL_TYPE);
   long timeMsc = HistoryDealGetInteger(d, DEAL_TIME_MSC);
   if(type != DEAL_TYPE_BUY && type != DEAL_TYPE_SELL)
     {
      m_state.MarkDeal(ticket, timeMsc);   // balance, credit, commission… are not trades
      return KP_RAW_DONE;
     }
   long reason = HistoryDealGetInteger(d, DEAL_REASON);
   if(reason == DEAL_REASON_ROLLOVER || reason == DEAL_REASON_VMARGIN || reason == DEAL_REASON_SPLIT)
     {
      // Broker housekeeping: the position is closed and reopened at a new price (swap rollover,
      // variation margin, split). Copying it would make every follower pay the spread twice.
      KpLogThrottled("housekeeping", StringFormat("deal #%I64d is broker housekeeping (reason %I64d: rollover, variation margin or split); not copied", ticket, reason), 600);
      m_state.MarkDeal(ticket, timeMsc);
      return KP_RAW_DONE;
     }
   ENUM_DEAL_ENTRY entry = (ENUM_DEAL_ENTRY)HistoryDealGetInteger(d, DEAL_ENTRY);
   long positionId = HistoryDealGetInteger(d, DEAL_POSITION_ID);
   string symbol = HistoryDealGetString(d, DEAL_SYMBOL);
   double volume = HistoryDealGetDouble(d, DEAL_VOLUME);
   double price = HistoryDealGetDouble(d, DEAL_PRICE);
   double sl = HistoryDealGetDouble(d, DEAL_SL);
   double tp = HistoryDealGetDouble(d, DEAL_TP);
   long magic = HistoryDealGetInteger(d, DEAL_MAGIC);
   string comment = HistoryDealGetString(d, DEAL_COMMENT);
   string dealSide = (type == DEAL_TYPE_BUY) ? "buy" : "sell";
   string occurredAt = OccurredAtMsc(timeMsc);
   string pid = KpTicketStr(positionId);
   string dt = KpTicketStr(ticket);
   double before = 0, after = 0;
   if(!NetVolumes(positionId, ticket, timeMsc, before, after))
      return KP_RAW_RETRY;
   // A deal of a pending order this EA reported placed: its fill is order.filled (never also
   // position.opened); any other outcome cancels the order's copies.
   long orderTicket = HistoryDealGetInteger(d, DEAL_ORDER);
   int oi = m_state.OrderIndex(orderTicket);
   CKpMasterOrder *fromOrder = NULL;
   if(oi >= 0 && m_state.orders[oi].reported && !m_state.orders[oi].filled)
      fromOrder = m_state.orders[oi];
   string ot = KpTicketStr(orderTicket);
   if(entry == DEAL_ENTRY_IN && fromOrder != NULL && MathAbs(before) < 1e-9)
     {
      fromOrder.volume = volume;
      fromOrder.sl = sl;
      fromOrder.tp = tp;
      QueueOrderSignal("order.filled", "mt5-o" + ot + "-filled", fromOrder, pid, price, occurredAt, dt);
      RememberLevels(positionId, sl, tp);
      // Partly filled (exchange): the rest still works; later deals of it add to the position.
      if(OrderSelect((ulong)orderTicket))
         fromOrder.filled = true;
      else
         m_state.DropOrder(oi);
      m_state.MarkDeal(ticket, timeMsc);
      return KP_RAW_DONE;
     }
   if(fromOrder != NULL)
     {
      // Netting: the order added to (or reversed) an open position; the add is copied as
      // position.increased (or the reversal as close + open), so its pending copies go.
      QueueOrderSignal("order.cancelled", "mt5-o" + ot + "-cancelled", fromOrder, "", fromOrder.price, occurredAt, "");
      m_state.DropOrder(oi);
     }
   if(entry == DEAL_ENTRY_IN)
     {
      if(MathAbs(before) < 1e-9)
        {
         QueueSignal("position.opened", "mt5-d" + dt, pid, symbol, dealSide, volume, -1, price, true, sl, tp, magic, comment, occurredAt, dt);
         RememberLevels(positionId, sl, tp);
        }
      else
        {
         // Netting: an IN deal on an open position adds to it (the position id stays). Followers
         // add the sized volume: a hedging one opens a second tagged position, a netting one
         // grows its own. The position's current levels go with it, for the added part.
         string positionSide = before > 0 ? "buy" : "sell";
         double psl = sl, ptp = tp;
         if(PositionSelectByTicket((ulong)positionId))
           {
            psl = PositionGetDouble(POSITION_SL);
            ptp = PositionGetDouble(POSITION_TP);
           }
         QueueSignal("position.increased", "mt5-d" + dt, pid, symbol, positionSide, volume, MathAbs(after), price, true, psl, ptp, magic, comment, occurredAt, dt);
         KpLog(StringFormat("netting add: deal #%s added %s lots to position %s (now %s)", dt, KpFormatNumber(volume, 8), pid, KpFormatNumber(MathAbs(after), 8)));
        }
     }
   else if(entry == DEAL_ENTRY_OUT || entry == DEAL_ENTRY_OUT_BY)
     {
      string positionSide = before > 0 ? "buy" : (before < 0 ? "sell" : (dealSide == "buy" ? "sell" : "buy"));
      double rest = MathAbs(after);
      if(rest > 1e-9 && ((before > 0 && after > 0) || (before < 0 && after < 0)))
         QueueSignal("position.partially_closed", "mt5-d" + dt, pid, symbol, positionSide, volume, rest, price, false, 0, 0, magic, comment, occurredAt, dt);
      else
         QueueSignal("position.closed", "mt5-d" + dt, pid, symbol, positionSide, volume, 0.0, price, false, 0, 0, magic, comment, occurredAt, dt);
     }
   else if(entry == DEAL_ENTRY_INOUT)
     {
      // Netting reversal: one deal closes the old position and opens the opposite one. The
      // identifier does not change, so both signals name the same masterPositionId; only the
      // close carries dealTicket (the gateway deduplicates on it).
      string oldSide = before > 0 ? "buy" : "sell";
      QueueSignal("position.closed", "mt5-d" + dt + "-out", pid, symbol, oldSide, MathAbs(before), 0.0, price, false, 0, 0, magic, comment, occurredAt, dt);
      QueueSignal("position.opened", "mt5-d" + dt + "-in", pid, symbol, dealSide, MathAbs(after), -1, price, true, sl, tp, magic, comment, occurredAt, "");
      RememberLevels(positionId, sl, tp);
     }
   m_state.MarkDeal(ticket, timeMsc);
   return KP_RAW_DONE;
  }

int CKpApp::ClassifyPosition(CKpRawTx *r)
  {
   // TRADE_TRANSACTION_POSITION: "changing a position not related to a deal execution" — SL/TP
   // (https://www.mql5.com/en/docs/constants/tradingconstants/enum_trade_transaction_type).
   if(!PositionSelectByTicket((ulong)r.ticket))
      return KP_RAW_DONE;   // closed since: its close is reported from the deal
   long positionId = PositionGetInteger(POSITION_IDENTIFIER);
   double sl = PositionGetDouble(POSITION_SL);
   double tp = PositionGetDouble(POSITION_TP);
   if(LevelsUnchanged(positionId, sl, tp))
      return KP_RAW_DONE;
   string symbol = PositionGetString(POSITION_SYMBOL);
   string side = PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? "buy" : "sell";
   string pid = KpTicketStr(positionId);
   QueueSignal("position.modified", "mt5-p" + pid + "-m" + KpUniqueSuffix(), pid, symbol, side, PositionGetDouble(POSITION_VOLUME), -1,
               PositionGetDouble(POSITION_PRICE_OPEN), true, sl, tp, PositionGetInteger(POSITION_MAGIC), PositionGetString(POSITION_COMMENT), KpNowIso(), "");
   RememberLevels(positionId, sl, tp);
   return KP_RAW_DONE;
  }

//====================================================================
#else // __MQL4__
//====================================================================

void CKpApp::ScanOrders(void)
  {
   if(m_cfg.role != KP_ROLE_MASTER)
      return;
   bool connected = false;
   int settledSec = SettledSec(connected);
   //--- the market orders now
   long ct[];
   string cs[], cd[], cc[];
   double cl[], cp[], csl[], ctp[];
   long cm[];
   datetime co[];
   for(int i = 0; i < OrdersTotal(); i++)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      int type = OrderType();
      if(type != OP_BUY && type != OP_SELL)
         continue;   // pending orders count once they are filled
      KpPush(ct, (long)OrderTicket());
      KpPush(cs, OrderSymbol());
      KpPush(cd, type == OP_BUY ? "buy" : "sell");
      KpPush(cc, OrderComment());
      KpPush(cl, OrderLots());
      KpPush(cp, OrderOpenPrice());
      KpPush(csl, OrderStopLoss());
      KpPush(ctp, OrderTakeProfit());
      KpPush(cm, (long)OrderMagicNumber());
      KpPush(co, OrderOpenTime());
     }
   int nc = ArraySize(ct);
   if(!m_state.bookReady)
     {
      for(int c = 0; c < nc; c++)
        {
         CKpBookEntry *b = new CKpBookEntry();
         b.ticket = ct[c];
         b.root = KpTicketStr(ct[c]);
         b.symbol = cs[c];
         b.side = cd[c];
         b.lots = cl[c];
         b.price = cp[c];
         b.sl = csl[c];
         b.tp = ctp[c];
         b.magic = cm[c];
         b.comment = cc[c];
         KpPush(m_state.book, b);
        }
      m_state.bookReady = true;
      m_state.Save();
      KpLog(StringFormat("first start as master: %d open order(s) tracked; changes from now on are reported", nc));
      return;
     }
   bool changed = false;
   int nb = ArraySize(m_state.book);
   bool vanished[], consumed[];
   long successor[];
   ArrayResize(vanished, nb);
   ArrayResize(consumed, nb);
   ArrayResize(successor, nb);
   for(int b = 0; b < nb; b++)
     {
      consumed[b] = false;
      successor[b] = 0;
      vanished[b] = true;
      for(int c = 0; c < nc; c++)
         if(ct[c] == m_state.book[b].ticket)
           {
            vanished[b] = false;
            break;
           }
      // The closed part of a partial close carries "to #<new ticket>" in the history.
      if(vanished[b] && OrderSelect((int)m_state.book[b].ticket, SELECT_BY_TICKET) && OrderCloseTime() != 0)
         successor[b] = KpCommentRef(OrderComment(), "to #");
     }
   //--- new tickets: a rest after a partial close, or a new position
   for(int c = 0; c < nc; c++)
     {
      int known = m_state.BookIndex(ct[c]);
      if(known >= 0)
        {
         m_state.book[known].misses = 0;
         continue;
        }
      int pred = -1;
      long from = KpCommentRef(cc[c], "from #");
      if(from > 0)
        {
         int bi = m_state.BookIndex(from);
         if(bi >= 0 && bi < nb && vanished[bi] && !consumed[bi])
            pred = bi;
        }
      for(int b = 0; pred < 0 && b < nb; b++)
         if(vanished[b] && !consumed[b] && successor[b] == ct[c])
            pred = b;
      if(pred >= 0)
        {
         CKpBookEntry *pb = m_state.book[pred];
         double closedLots = KpVol(pb.lots - cl[c]);
         double price = 0;
         string at = KpNowIso();
         if(OrderSelect((int)pb.ticket, SELECT_BY_TICKET) && OrderCloseTime() != 0)
           {
            price = OrderClosePrice();
            at = OccurredAt(OrderCloseTime());
            if(OrderLots() > 0)
               closedLots = OrderLots();   // the history record holds the closed part
           }
         QueueSignal("position.partially_closed", "mt4-" + pb.root + "-pc-" + KpTicketStr(ct[c]), pb.root, pb.symbol, pb.side, closedLots, cl[c],
                     price, false, 0, 0, pb.magic, pb.comment, at, "");
         consumed[pred] = true;
         pb.ticket = ct[c];
         pb.lots = cl[c];
         pb.sl = csl[c];
         pb.tp = ctp[c];
         pb.comment = cc[c];
         pb.waits = 0;
         changed = true;
         continue;
        }
      string root = KpTicketStr(ct[c]);
      QueueSignal("position.opened", "mt4-" + root + "-open", root, cs[c], cd[c], cl[c], -1, cp[c], true, csl[c], ctp[c], cm[c], cc[c], OccurredAt(co[c]), "");
      CKpBookEntry *nbe = new CKpBookEntry();
      nbe.ticket = ct[c];
      nbe.root = root;
      nbe.symbol = cs[c];
      nbe.side = cd[c];
      nbe.lots = cl[c];
      nbe.price = cp[c];
      nbe.sl = csl[c];
      nbe.tp = ctp[c];
      nbe.magic = cm[c];
      nbe.comment = cc[c];
      KpPush(m_state.book, nbe);
      changed = true;
     }
   //--- vanished tickets that were not partial closes: closed
   for(int b = nb - 1; b >= 0; b--)
     {
      if(!vanished[b] || consumed[b])
         continue;
      CKpBookEntry *pb = m_state.book[b];
      if(successor[b] > 0 && pb.waits < 5)
        {
         pb.waits++;   // "to #new": the rest is not in the order list yet
         continue;
        }
      double lots = pb.lots;
      double price = 0;
      string at = KpNowIso();
      bool historyClosed = OrderSelect((int)pb.ticket, SELECT_BY_TICKET) && OrderCloseTime() != 0;
      int decision = KpMt4MissingDecision(connected, settledSec, historyClosed, pb.misses);
      if(decision == KP_MISS_WAIT)
         continue;
      if(decision == KP_MISS_COUNT)
        {
         pb.misses++;
         KpLogThrottled("missing-" + KpTicketStr(pb.ticket), StringFormat("order #%I64d is not in the order list and has no close in the account history yet; not reported as closed until it has (or after %d scans)", pb.ticket, KP_MISS_LIMIT), 300);
         continue;
        }
      if(historyClosed)
        {
         price = OrderClosePrice();
         at = OccurredAt(OrderCloseTime());
         if(OrderLots() > 0)
            lots = OrderLots();
        }
      else
        {
         price = (pb.side == "buy") ? MarketInfo(pb.symbol, MODE_BID) : MarketInfo(pb.symbol, MODE_ASK);
         KpLog(StringFormat("order #%I64d has been gone for %d scans while connected but is not in the account history: reported closed at the current price. Set the Account History tab to 'All History' so closes are reported with their real price", pb.ticket, KP_MISS_LIMIT));
        }
      QueueSignal("position.closed", "mt4-" + pb.root + "-close-" + KpTicketStr(pb.ticket), pb.root, pb.symbol, pb.side, lots, 0.0, price, false, 0, 0,
                  pb.magic, pb.comment, at, "");
      delete pb;
      KpRemoveAt(m_state.book, b);
      changed = true;
     }
   //--- same tickets: volume shrink (brokers that keep the ticket) and SL/TP changes
   for(int c = 0; c < nc; c++)
     {
      int bi = m_state.BookIndex(ct[c]);
      if(bi < 0)
         continue;
      CKpBookEntry *pb = m_state.book[bi];
      if(cl[c] < pb.lots - 1e-8)
        {
         double closedLots = KpVol(pb.lots - cl[c]);
         double price = (pb.side == "buy") ? MarketInfo(pb.symbol, MODE_BID) : MarketInfo(pb.symbol, MODE_ASK);
         QueueSignal("position.partially_closed", "mt4-" + pb.root + "-pc-" + KpTicketStr(ct[c]) + "-" + KpFormatNumber(cl[c], 8), pb.root, pb.symbol, pb.side,
                     closedLots, cl[c], price, false, 0, 0, pb.magic, pb.comment, KpNowIso(), "");
         pb.lots = cl[c];
         changed = true;
        }
      if(MathAbs(csl[c] - pb.sl) > 1e-10 || MathAbs(ctp[c] - pb.tp) > 1e-10)
        {
         QueueSignal("position.modified", "mt4-" + pb.root + "-m" + KpUniqueSuffix(), pb.root, pb.symbol, pb.side, cl[c], -1, cp[c], true, csl[c], ctp[c],
                     pb.magic, pb.comment, KpNowIso(), "");
         pb.sl = csl[c];
         pb.tp = ctp[c];
         changed = true;
        }
     }
   if(changed)
      m_state.Save();
  }

#endif

#endif // KOPITRA_MASTER_MQH
