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
#ifdef __MQL5__
   void              CatchUpDeals(void);
   void              RescanDeals(void);
   int               ClassifyDeal(const long ticket);
   int               ClassifyPosition(CKpRawTx *r);
   bool              NetVolumes(const long positionId, const long dealTicket, const long dealMsc, double &before, double &after);
#else
   ulong             m_connectedSinceMs;   // 0 = not connected at the last scan
   void              ScanOrders(void);
#endif

public:
                     CKpApp(void)
     {
#ifdef __MQL4__
      m_connectedSinceMs = 0;
#endif
     }
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
      return;
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
   bool connected = IsConnected();
   if(!connected)
      m_connectedSinceMs = 0;
   else if(m_connectedSinceMs == 0)
      m_connectedSinceMs = NowMs();
   int settledSec = connected ? (int)((NowMs() - m_connectedSinceMs) / 1000) : 0;
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
