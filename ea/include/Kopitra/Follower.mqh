//+------------------------------------------------------------------+
//| Kopitra/Follower.mqh — executing what the gateway's outbox says    |
//|                                                                    |
//| Outbox polling (Session.mqh) uses GET /sessions/current/outbox     |
//| with wait=0 by default: WebRequest is synchronous, so a long poll  |
//| would freeze this EA's only thread for its whole duration — no     |
//| heartbeats, no OnTradeTransaction processing (its queue holds 1024 |
//| entries), and a chart/parameter change would wait for the request. |
//| Polling every PollIntervalMs (default 1 s) costs one small request |
//| and gives the same latency bound. A small wait (≤5 s, input        |
//| OutboxWaitSec) is allowed for setups that prefer fewer requests.   |
//|                                                                    |
//| Each event is executed at most once: its eventId is journalled     |
//| ("inflight" before the trade, "done" after) in the state file, so  |
//| an event replayed after a crash or a lost acknowledgement is only  |
//| re-acknowledged; a trade interrupted mid-way is recognised by the  |
//| position's comment tag kp:<group>:<masterPositionId>.              |
//+------------------------------------------------------------------+
#ifndef KOPITRA_FOLLOWER_MQH
#define KOPITRA_FOLLOWER_MQH

#include "Session.mqh"
#include "Trade.mqh"

class CKpFollower : public CKpClient
  {
protected:
   CKpTrader         m_trader;

   virtual int       HandleTradeEvent(const string type, const string eventId, CKpJson *payload);
   int               DoUnknown(const string type, const string eventId, CKpJson *payload);
   void              DoOpen(CKpJson *p, const bool recovering, const long placedOrder, const int attempts, KpExec &e);
   void              DoIncrease(CKpJson *p, const bool recovering, KpExec &e);
   void              SpreadPartialClose(CKpJson *p, const long first, const double volume, const string tag, KpExec &e);
   void              CloseAllTagged(CKpJson *p, const long first, const string tag, KpExec &e);
   void              DoModify(CKpJson *p, KpExec &e);
   void              DoPartialClose(CKpJson *p, const bool recovering, KpExec &e);
   void              DoClose(CKpJson *p, const bool recovering, KpExec &e);
   void              DoCommand(CKpJson *p, const bool recovering, KpExec &e);
   int               DoCancel(const string eventId, CKpJson *p);
   void              DoPlaceOrder(CKpJson *p, const bool recovering, KpExec &e);
   void              DoModifyOrder(CKpJson *p, KpExec &e);
   void              DoCancelOrder(CKpJson *p, KpExec &e);
   bool              ReplaceOrder(CKpJson *p, const string comment, const string symbol, KpExec &e);
   void              NoticeOrderFilled(const string orderId, const long order, const long position, const double volume, const string symbol);
   void              WatchPendingCopies(void);
   void              FromExisting(const long ticket, const string message, KpExec &e);
   void              Report(const string type, const string orderId, KpExec &e);
   void              Notice(const string orderId, const string commandId, const string action, const string symbol, KpExec &e);
   static double     Level(CKpJson *p, const string key) { return p.GetDouble(key, 0.0); }

public:
   void              SetupTrader(void) { m_trader.Setup(m_cfg.magic, m_cfg.defaultDeviationPoints); }
  };

int CKpFollower::HandleTradeEvent(const string type, const string eventId, CKpJson *payload)
  {
   int kind = KpEventKind(type);
   if(kind == KP_TYPE_CANCEL)
      return DoCancel(eventId, payload);
   if(kind != KP_TYPE_TRADE && kind != KP_TYPE_COMMAND)
      return DoUnknown(type, eventId, payload);
   CKpJournal *j = m_state.FindJournal(eventId);
   if(j != NULL && j.state == "done")
      return KP_EVENT_DONE;   // executed before; the acknowledgement was lost
   if(j != NULL && j.retryAtMs > NowMs())
      return KP_EVENT_LATER;  // a temporary trade error: not yet
   if(!KpTradingAllowed())
     {
      KpLogThrottled("autotrading-wait", "AutoTrading is off: " + type + " and later events wait until it is switched on (the gateway expires opens that wait too long)", 300);
      return KP_EVENT_LATER;
     }
   // inflight: the terminal stopped (or the answer was unclear) while this event was being
   // executed, so every handler looks for the trade before doing anything.
   bool recovering = (j != NULL && j.state == "inflight");
   int attempts = (j != NULL) ? j.attempts : 0;
   // An open answered PLACED keeps that order's number here ("order:<n>") until it is decided.
   string placed = (j != NULL && StringFind(j.ticket, KP_PLACED_PREFIX) == 0) ? j.ticket : "";
   string orderId = payload.GetString("orderId");
   KpExec e;
   KpExecReset(e);
   m_state.Journal(eventId, orderId, "inflight", placed);
   m_state.Save();
   if(type == "trade.started")
      DoOpen(payload, recovering, placed != "" ? StringToInteger(StringSubstr(placed, StringLen(KP_PLACED_PREFIX))) : 0, attempts, e);
   else if(type == "trade.increased")
      DoIncrease(payload, recovering, e);
   else if(type == "trade.modified")
      DoModify(payload, e);
   else if(type == "trade.partial_close")
      DoPartialClose(payload, recovering, e);
   else if(type == "trade.closed")
      DoClose(payload, recovering, e);
   else if(type == "trade.order_placed")
      DoPlaceOrder(payload, recovering, e);
   else if(type == "trade.order_modified")
      DoModifyOrder(payload, e);
   else if(type == "trade.order_cancelled")
      DoCancelOrder(payload, e);
   else
      DoCommand(payload, recovering, e);
   if(e.status == "retry" || e.status == "uncertain")
     {
      // Temporary (busy, connection, market closed, frozen) or unclear (timeout, placed without
      // a deal): not acknowledged, tried again later — an unclear one looks for the trade first.
      attempts++;
      int delay = KpTradeRetryDelaySec(attempts);
      if(delay >= 0)
        {
         CKpJournal *jj = m_state.FindJournal(eventId);
         jj.state = (e.status == "retry") ? "retry" : "inflight";
         jj.attempts = attempts;
         if(e.placedOrder > 0)
            jj.ticket = KP_PLACED_PREFIX + KpTicketStr(e.placedOrder);
         jj.retryAtMs = NowMs() + (ulong)delay * 1000;
         m_state.Save();
         KpLogThrottled("retry-" + eventId, StringFormat("%s %s: %s %s; trying again in %d s (attempt %d of %d)", type, orderId, e.errorCode, e.message, delay, attempts, KP_TRADE_MAX_DEFERRALS), 30);
         return KP_EVENT_LATER;
        }
      e.message += StringFormat(" (gave up after %d attempts)", KP_TRADE_MAX_DEFERRALS);
      e.status = (e.status == "uncertain") ? "failed" : "rejected";
     }
   if(e.unprotected)
     {
      CKpJsonWriter w;
      KpWriteError(w, "copy_unprotected", StringFormat("copy order %s #%s of master position %s: %s", orderId, e.ticket, payload.GetString("masterPositionId"), e.message));
      EnqueueInboxEvent(w.Text(), "ea.error copy_unprotected " + orderId, true, true);
      KpLog("WARNING: " + e.message);
     }
   m_state.Journal(eventId, orderId, "done", e.ticket);
   if(kind == KP_TYPE_COMMAND)
     {
      Notice("", payload.GetString("commandId"), payload.GetString("action"), payload.GetString("symbol"), e);
      m_state.Save();
      return KP_EVENT_DONE;
     }
   Report(type, orderId, e);
   if(e.previousTicket != "")
      Notice(orderId, "", "", payload.GetString("symbol"), e);
   m_state.Save();
   return KP_EVENT_DONE;
  }

/**
 * An event type this EA does not know (a newer gateway): never
 * acknowledged silently. An ea.error names it, and a copy order it carries is reported failed,
 * so the gateway's own policy decides what happens to it; then it is acknowledged.
 */
int CKpFollower::DoUnknown(const string type, const string eventId, CKpJson *payload)
  {
   string orderId = payload.GetString("orderId");
   string message = "outbox event " + type + " (" + eventId + ") is not known to Kopitra EA " + KP_EA_VERSION + "; nothing was executed — update the EA";
   KpLog(message);
   CKpJsonWriter w;
   KpWriteError(w, "unknown_event_type", message);
   EnqueueInboxEvent(w.Text(), "ea.error unknown_event_type " + eventId, true, true);
   if(orderId != "")
     {
      KpExec e;
      KpExecReset(e);
      KpExecFail(e, "failed", "unsupported_event_type", message);
      Report(type, orderId, e);
     }
   m_state.Journal(eventId, orderId, "done", "");
   m_state.Save();
   return KP_EVENT_DONE;
  }

/** Fills a report from a position that is already there. */
void CKpFollower::FromExisting(const long ticket, const string message, KpExec &e)
  {
   string s2, d2;
   double v2, op2, sl2, tp2;
   m_trader.PositionInfo(ticket, s2, d2, v2, op2, sl2, tp2);
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   e.price = op2;
   e.volume = v2;
   e.hasPrice = op2 > 0;
   e.hasVolume = v2 > 0;
   e.message = message;
  }

//--- trade.started { orderId, masterAccountId, masterPositionId, symbol, side, volume, sl, tp, masterPrice, maxSlippage, expiresAt, comment }
void CKpFollower::DoOpen(CKpJson *p, const bool recovering, const long placedOrder, const int attempts, KpExec &e)
  {
   string orderId = p.GetString("orderId");
   string masterPositionId = p.GetString("masterPositionId");
   string symbol = p.GetString("symbol");
   string side = p.GetString("side");
   string comment = p.GetString("comment");
   if(comment == "")
      comment = KpLegacyTag(masterPositionId);
   // An earlier attempt was answered PLACED: that order decides, and nothing is sent again.
   if(placedOrder > 0)
     {
      long state = -1;
      int placed = m_trader.PlacedOrderDecision(placedOrder, attempts, state);
      string order = "order #" + KpTicketStr(placedOrder);
      if(placed == KP_PLACED_FILLED)
        {
         if(!m_trader.FindTaggedDeal(StringSubstr(comment, 0, KP_COMMENT_MAX), symbol, e))
           {
            KpExecFail(e, "uncertain", "10008", order + " was filled on the exchange; its deal is not in the history yet");
            e.placedOrder = placedOrder;
           }
         return;
        }
      if(placed == KP_PLACED_REFUSED)
        {
         KpExecFail(e, "rejected", "10008", StringFormat("%s placed on the exchange ended without a deal (state %d); nothing was opened", order, (int)state));
         return;
        }
      if(placed == KP_PLACED_CANCEL)
        {
         string why = "";
         if(m_trader.DeletePending(placedOrder, why))
           {
            KpExecFail(e, "rejected", "10008", order + " was still not filled on the exchange after every attempt; it was deleted and nothing was opened");
            return;
           }
         KpLog(order + " could not be deleted: " + why);
        }
      // Still working (or not visible yet): wait for it, never send a second order.
      KpExecFail(e, "uncertain", "10008", order + " is placed on the exchange without a deal yet; waiting for it");
      e.placedOrder = placedOrder;
      return;
     }
   // pendingOnMasterFill market: the unfilled pending copy goes first; nothing opens unless it is gone.
   if(p.Has("replacesOrder") && !p.HasNull("replacesOrder") && !ReplaceOrder(p, comment, symbol, e))
      return;
   // The lookup comes before the expiry and cancel checks: an open that did execute before a
   // crash is reported filled, never expired (it would be an orphan no master close touches).
   bool found = false;
   if(!KpIsNetting())
     {
      // Hedging: a position carrying this master position's tag means the open happened.
      // Only this open's own tag counts: a legacy tag of the same id may be another group's copy.
      long existing = m_trader.FindPosition("", StringSubstr(comment, 0, KP_COMMENT_MAX), "", symbol);
      if(existing > 0)
        {
         FromExisting(existing, "already open (found by its comment tag); not opened twice", e);
         found = true;
        }
     }
   else if(recovering)
      found = m_trader.FindRecentOpen(comment, symbol, e);
   datetime expiresAt = 0;
   bool expired = KpParseIso(p.GetString("expiresAt"), expiresAt) && KpNowUtc() > expiresAt;
   int decision = KpOpenDecision(found, m_state.IsCancelled(orderId), expired);
   if(decision == KP_OPEN_ALREADY)
      return;
   if(decision == KP_OPEN_CANCELLED)
     {
      KpExecFail(e, "failed", "cancelled", "cancelled by order.cancel before it was executed");
      return;
     }
   if(decision == KP_OPEN_EXPIRED)
     {
      // expiresAt: never open after it (the price has moved on); the gateway records the reason.
      KpExecFail(e, "failed", "expired", StringFormat("signal expired at %s (now %s): not opened", KpIso(expiresAt), KpNowIso()));
      return;
     }
   if(side != "buy" && side != "sell")
     {
      KpExecFail(e, "failed", "invalid_side", "unknown side '" + side + "'");
      return;
     }
   long maxSlippage = p.HasNull("maxSlippage") || !p.Has("maxSlippage") ? -1 : p.GetLong("maxSlippage", -1);
   m_trader.Open(symbol, side, p.GetDouble("volume"), Level(p, "sl"), Level(p, "tp"), comment, maxSlippage, p.GetDouble("masterPrice"), e);
   if(e.status == "filled")
      KpLog(StringFormat("copied %s: %s %s %s -> #%s at %s%s", masterPositionId, side, KpFormatNumber(e.volume, 8), symbol, e.ticket, KpFormatNumber(e.price, 8), e.message != "" ? " (" + e.message + ")" : ""));
   else if(e.status != "retry" && e.status != "uncertain")
      KpLog(StringFormat("copy of %s %s %s NOT opened: %s %s", masterPositionId, side, symbol, e.errorCode, e.message));
  }

//--- trade.increased { orderId, masterAccountId, masterPositionId, ticket, symbol, side, volume, sl, tp, masterPrice, maxSlippage, expiresAt, comment }
//    A netting master added to the position this copy follows. Netting: a deal of the volume on
//    the net position, carrying the order's tag so a replay finds it. Hedging (and MT4): another
//    position carrying the copy's tag, so the copy's exits and reconciliation count it.
void CKpFollower::DoIncrease(CKpJson *p, const bool recovering, KpExec &e)
  {
   string orderId = p.GetString("orderId");
   string masterPositionId = p.GetString("masterPositionId");
   string symbol = p.GetString("symbol");
   string side = p.GetString("side");
   bool netting = KpIsNetting();
   string orderTag = KpOrderTag(orderId);
   string comment = p.GetString("comment");
   if(comment == "")
      comment = KpLegacyTag(masterPositionId);
   bool dealFound = recovering && netting && m_trader.FindTaggedDeal(orderTag, symbol, e);
   datetime expiresAt = 0;
   bool expired = KpParseIso(p.GetString("expiresAt"), expiresAt) && KpNowUtc() > expiresAt;
   bool copyFound = m_trader.FindPosition(p.GetString("ticket"), comment, masterPositionId, symbol) > 0;
   int decision = KpIncreaseDecision(recovering, netting, dealFound, m_state.IsCancelled(orderId), expired, copyFound);
   if(decision == KP_OPEN_ALREADY)
      return;
   if(decision == KP_OPEN_UNKNOWN)
     {
      KpExecFail(e, "failed", "outcome_unknown", "add interrupted by a restart; not repeated (reconciliation compares the book)");
      return;
     }
   if(decision == KP_OPEN_CANCELLED)
     {
      KpExecFail(e, "failed", "cancelled", "cancelled by order.cancel before it was executed");
      return;
     }
   if(decision == KP_OPEN_EXPIRED)
     {
      KpExecFail(e, "failed", "expired", StringFormat("signal expired at %s (now %s): not added", KpIso(expiresAt), KpNowIso()));
      return;
     }
   if(decision == KP_OPEN_NO_COPY)
     {
      KpExecFail(e, "failed", "position_not_found", "nothing of the copy of master position " + masterPositionId + " is open to add to");
      return;
     }
   if(side != "buy" && side != "sell")
     {
      KpExecFail(e, "failed", "invalid_side", "unknown side '" + side + "'");
      return;
     }
   long maxSlippage = p.HasNull("maxSlippage") || !p.Has("maxSlippage") ? -1 : p.GetLong("maxSlippage", -1);
   m_trader.Open(symbol, side, p.GetDouble("volume"), Level(p, "sl"), Level(p, "tp"), netting ? orderTag : comment, maxSlippage, p.GetDouble("masterPrice"), e);
   if(e.status == "filled")
      KpLog(StringFormat("added to copy of %s: %s %s %s -> #%s at %s", masterPositionId, side, KpFormatNumber(e.volume, 8), symbol, e.ticket, KpFormatNumber(e.price, 8)));
   else if(e.status != "retry" && e.status != "uncertain")
      KpLog(StringFormat("add to copy of %s %s %s NOT made: %s %s", masterPositionId, side, symbol, e.errorCode, e.message));
  }

/**
 * Hedging: a partial close of a copy spanning several positions (`positions` in the payload),
 * spread as the SDK simulator's spreadClose: the later positions whole, newest first, while
 * they fit; the rest from the first; what it cannot give from the later ones left (KpSpreadTake).
 * Once anything closed, a later failure is reported as what was done, never retried (a retry
 * would close the first part again); reconciliation compares the book.
 */
void CKpFollower::SpreadPartialClose(CKpJson *p, const long first, const double volume, const string tag, KpExec &e)
  {
   string symbol = p.GetString("symbol");
   long tickets[];
   int n = m_trader.TaggedPositions(p.GetString("comment"), p.GetString("masterPositionId"), symbol, tickets);
   bool hasFirst = false;
   for(int i = 0; i < n; i++)
      hasFirst = hasFirst || tickets[i] == first;
   if(!hasFirst)
     {
      // MT4 rewrites the comment of a partial close's rest; the gateway follows it by ticket.
      ArrayResize(tickets, n + 1);
      tickets[n++] = first;
     }
   double volumeMin = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MIN);
   double step = SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP);
   double remaining = volume, closed = 0.0;
   string reported = KpTicketStr(first);
   bool taken[];
   ArrayResize(taken, n);
   for(int i = 0; i < n; i++)
      taken[i] = false;
   // Pass 0: the later positions whole, newest first; pass 1: the first; pass 2: the later ones left.
   for(int pass = 0; pass < 3; pass++)
     {
      for(int i = 0; i < n; i++)
        {
         bool isFirst = tickets[i] == first;
         if(taken[i] || (pass == 1 && !isFirst) || (pass != 1 && isFirst))
            continue;
         string s2, d2;
         double held, op2, sl2, tp2;
         if(!m_trader.PositionInfo(tickets[i], s2, d2, held, op2, sl2, tp2))
            continue;
         double take = pass == 0 ? (held <= remaining + 1e-9 ? held : 0.0) : KpSpreadTake(remaining, held, volumeMin, step);
         if(take <= 0.0)
            continue;
         KpExec one;
         KpExecReset(one);
         m_trader.ClosePartial(tickets[i], take, m_trader.Deviation(-1), tag, one);
         if(one.status != "filled")
           {
            if(closed <= 0.0)
              {
               KpExecFail(e, one.status, one.errorCode, one.message);
               e.placedOrder = one.placedOrder;
               return;
              }
            e.message = StringFormat("closed %s of %s; then #%s: %s %s", KpFormatNumber(closed, 8), KpFormatNumber(volume, 8), KpTicketStr(tickets[i]), one.errorCode, one.message);
            pass = 3;
            break;
           }
         taken[i] = true;
         closed += take;
         remaining = MathMax(0.0, remaining - take);
         // MT4: the rest of the first position has a new ticket; the gateway's link follows it.
         if(tickets[i] == first && one.previousTicket != "")
           {
            reported = one.ticket;
            e.previousTicket = one.previousTicket;
           }
         e.price = one.price;
         e.hasPrice = one.hasPrice;
        }
     }
   if(closed <= 0.0)
     {
      KpExecFail(e, "rejected", "volume_below_minimum", StringFormat("%s lots cannot be taken from the copy's %d positions within the symbol's minimum and step", KpFormatNumber(volume, 8), n));
      return;
     }
   e.status = "filled";
   e.ticket = reported;
   e.volume = closed;
   e.hasVolume = true;
  }

/** Hedging: closes every position of a copy spanning several (`positions` in the payload). */
void CKpFollower::CloseAllTagged(CKpJson *p, const long first, const string tag, KpExec &e)
  {
   long tickets[];
   int n = m_trader.TaggedPositions(p.GetString("comment"), p.GetString("masterPositionId"), p.GetString("symbol"), tickets);
   bool hasFirst = false;
   for(int i = 0; i < n; i++)
      hasFirst = hasFirst || tickets[i] == first;
   if(!hasFirst)
     {
      ArrayResize(tickets, n + 1);
      tickets[n++] = first;
     }
   double closed = 0.0;
   int failed = 0;
   string why = "";
   for(int i = 0; i < n; i++)
     {
      KpExec one;
      KpExecReset(one);
      m_trader.Close(tickets[i], 0.0, m_trader.Deviation(-1), tag, one);
      if(one.status == "filled")
        {
         closed += one.volume;
         e.price = one.price;
         e.hasPrice = one.hasPrice;
         continue;
        }
      // Nothing closed yet and a temporary error: the whole close is tried again later.
      if(closed <= 0.0 && failed == 0 && (one.status == "retry" || one.status == "uncertain"))
        {
         KpExecFail(e, one.status, one.errorCode, one.message);
         return;
        }
      failed++;
      why = "#" + KpTicketStr(tickets[i]) + ": " + one.errorCode + " " + one.message;
     }
   if(closed <= 0.0)
     {
      KpExecFail(e, "rejected", "close_failed", why);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(first);
   e.volume = closed;
   e.hasVolume = true;
   if(failed > 0)
      e.message = StringFormat("%d of %d positions not closed (%s); reconciliation closes what is left", failed, n, why);
  }

//--- trade.modified { orderId, masterPositionId, ticket, symbol, comment, sl?, tp? } — an absent key keeps the level, null removes it
void CKpFollower::DoModify(CKpJson *p, KpExec &e)
  {
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("comment"), p.GetString("masterPositionId"), p.GetString("symbol"));
   if(ticket <= 0)
     {
      KpExecFail(e, "failed", "position_not_found", "no open position for master position " + p.GetString("masterPositionId"));
      return;
     }
   m_trader.Modify(ticket, p.Has("sl"), Level(p, "sl"), p.Has("tp"), Level(p, "tp"), e);
   KpLog(StringFormat("modify #%s (master %s): %s %s", KpTicketStr(ticket), p.GetString("masterPositionId"), e.status, e.message));
  }

//--- trade.partial_close { orderId, masterPositionId, ticket, symbol, side?, comment, volume }
void CKpFollower::DoPartialClose(CKpJson *p, const bool recovering, KpExec &e)
  {
   string tag = KpOrderTag(p.GetString("orderId"));
   bool netting = KpIsNetting();
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("comment"), p.GetString("masterPositionId"), p.GetString("symbol"));
   // Netting partial closes carry the order's tag: the deal tells whether it happened.
   bool dealFound = recovering && netting && m_trader.FindTaggedDeal(tag, p.GetString("symbol"), e);
   int decision = KpCloseDecision(recovering, netting, true, ticket > 0, dealFound);
   if(decision == KP_CLOSE_ALREADY)
      return;
   if(decision == KP_CLOSE_UNKNOWN)
     {
      // Hedging: the terminal stopped during this partial close and nothing tells whether it
      // happened; repeating it could close twice as much.
      KpExecFail(e, "failed", "outcome_unknown", "interrupted by a restart; not repeated (reconciliation compares the book)");
      return;
     }
   if(decision == KP_CLOSE_NOT_FOUND)
     {
      KpExecFail(e, "failed", "position_not_found", "no open position for master position " + p.GetString("masterPositionId"));
      return;
     }
   double volume = p.GetDouble("volume", 0.0);
   if(volume <= 0.0)
     {
      KpExecFail(e, "failed", "invalid_volume", "trade.partial_close without a volume");
      return;
     }
   if(!netting && p.GetLong("positions", 1) > 1)
      SpreadPartialClose(p, ticket, volume, tag, e);
   else
      m_trader.ClosePartial(ticket, volume, m_trader.Deviation(-1), tag, e, p.GetString("side", ""));
   KpLog(StringFormat("partial close #%s %s (master %s): %s%s %s", KpTicketStr(ticket), KpFormatNumber(volume, 8), p.GetString("masterPositionId"), e.status,
                      e.previousTicket != "" ? ", rest is now #" + e.ticket : "", e.message));
  }

//--- trade.closed { orderId, masterPositionId, ticket, symbol, side?, comment, volume? }
void CKpFollower::DoClose(CKpJson *p, const bool recovering, KpExec &e)
  {
   string tag = KpOrderTag(p.GetString("orderId"));
   bool netting = KpIsNetting();
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("comment"), p.GetString("masterPositionId"), p.GetString("symbol"));
   // Netting: the net position outlives this copy's close, so only the tagged deal tells a
   // replay that the volume already left it (closing it again would take another copy's).
   bool dealFound = recovering && netting && m_trader.FindTaggedDeal(tag, p.GetString("symbol"), e);
   int decision = KpCloseDecision(recovering, netting, false, ticket > 0, dealFound);
   if(decision == KP_CLOSE_ALREADY)
     {
      if(!dealFound)
        {
         e.status = "filled";
         e.ticket = p.GetString("ticket");
         e.message = "closed before a restart";
        }
      return;
     }
   if(decision != KP_CLOSE_EXECUTE)
     {
      KpExecFail(e, "failed", "position_not_found", "no open position for master position " + p.GetString("masterPositionId") + " (closed by hand, SL/TP or stop-out?)");
      return;
     }
   // Hedging: the whole copy closes (every position of it). Netting: only this copy's volume
   // leaves the net position.
   double volume = netting ? p.GetDouble("volume", 0.0) : 0.0;
   if(!netting && p.GetLong("positions", 1) > 1)
      CloseAllTagged(p, ticket, tag, e);
   else
      m_trader.Close(ticket, volume, m_trader.Deviation(-1), tag, e, netting ? p.GetString("side", "") : "");
   KpLog(StringFormat("close #%s (master %s): %s %s", KpTicketStr(ticket), p.GetString("masterPositionId"), e.status, e.message));
  }

//--- order.command { commandId, requestedBy, action: open | close | modify | close_all, ... } (manual, from an operator)
void CKpFollower::DoCommand(CKpJson *p, const bool recovering, KpExec &e)
  {
   string action = p.GetString("action");
   string commandId = p.GetString("commandId");
   string tag = KpOrderTag(commandId);
   KpLog("manual order.command " + commandId + " from " + p.GetString("requestedBy") + ": " + action + (recovering ? " (replayed after a restart: looking for it first)" : ""));
   if(action == "open")
     {
      // The deal carries the command's tag unless the operator gave a comment: a replay finds it.
      string comment = p.GetString("comment", tag);
      if(recovering && m_trader.FindRecentOpen(comment, p.GetString("symbol"), e))
         return;
      m_trader.Open(p.GetString("symbol"), p.GetString("side"), p.GetDouble("volume"), Level(p, "sl"), Level(p, "tp"), comment, -1, 0.0, e);
     }
   else if(action == "close")
     {
      bool partial = p.Has("volume") && !p.HasNull("volume");
      bool netting = KpIsNetting();
      long ticket = m_trader.FindPosition(p.GetString("ticket"), "", "", p.GetString("symbol"));
      bool dealFound = recovering && netting && m_trader.FindTaggedDeal(tag, "", e);
      int decision = KpCloseDecision(recovering, netting, partial, ticket > 0, dealFound);
      if(decision == KP_CLOSE_ALREADY)
        {
         if(!dealFound)
           {
            e.status = "filled";
            e.ticket = p.GetString("ticket");
            e.message = "closed before a restart";
           }
        }
      else if(decision == KP_CLOSE_UNKNOWN)
         KpExecFail(e, "failed", "outcome_unknown", "interrupted by a restart; not repeated — check position #" + p.GetString("ticket"));
      else if(decision == KP_CLOSE_NOT_FOUND)
         KpExecFail(e, "failed", "position_not_found", "no open position #" + p.GetString("ticket"));
      else if(partial)
         m_trader.ClosePartial(ticket, p.GetDouble("volume"), m_trader.Deviation(-1), tag, e);
      else
         m_trader.Close(ticket, 0.0, m_trader.Deviation(-1), tag, e);
     }
   else if(action == "modify")
     {
      // Setting levels twice sets the same levels: a replay just does it again.
      long ticket = m_trader.FindPosition(p.GetString("ticket"), "", "", p.GetString("symbol"));
      if(ticket <= 0)
         KpExecFail(e, "failed", "position_not_found", "no open position #" + p.GetString("ticket"));
      else
         m_trader.Modify(ticket, p.Has("sl"), Level(p, "sl"), p.Has("tp"), Level(p, "tp"), e);
     }
   else if(action == "close_all")
     {
      // Closes what is still open of Kopitra's positions: a replay closes what remains.
      string report;
      int closed = m_trader.CloseAllManaged(p.GetString("symbol"), m_trader.Deviation(-1), report);
      e.status = report == "" ? "filled" : "failed";
      e.message = StringFormat("closed %d Kopitra position(s)%s", closed, report != "" ? "; failed: " + report : "");
     }
   else
      KpExecFail(e, "failed", "unknown_action", "unknown order.command action '" + action + "'");
   KpLog("order.command " + action + ": " + e.status + " " + e.message);
  }

//--- order.cancel { orderId?, ticket? }: drop a copy order not executed yet, or delete a pending order
int CKpFollower::DoCancel(const string eventId, CKpJson *p)
  {
   string orderId = p.GetString("orderId");
   KpExec e;
   KpExecReset(e);
   e.status = "filled";
   if(orderId != "")
     {
      m_state.Cancel(orderId);
      e.message = "copy order " + orderId + " will not be executed";
     }
   long ticket = p.GetLong("ticket", 0);
   if(ticket > 0)
     {
      string why;
      if(m_trader.DeletePending(ticket, why))
         e.message += (e.message == "" ? "" : "; ") + "pending order #" + KpTicketStr(ticket) + " deleted";
      else
        {
         e.status = "failed";
         e.message += (e.message == "" ? "" : "; ") + why;
        }
      e.ticket = KpTicketStr(ticket);
     }
   KpLog("order.cancel: " + e.message);
   Notice(orderId, p.GetString("commandId"), "cancel", p.GetString("symbol"), e);
   m_state.Save();
   return KP_EVENT_DONE;
  }

//--- pending orders ---------------------------------------------------------------------------

#ifdef __MQL5__
#define KP_ERR_NO_ORDER "10035"   // TRADE_RETCODE_INVALID_ORDER
#else
#define KP_ERR_NO_ORDER "4108"    // ERR_INVALID_TICKET
#endif

/**
 * trade.started with replacesOrder { masterOrderId, ticket }: the master's order filled and
 * this follower's copy of it has not, so it is replaced by a market open. The copy is deleted
 * first; only when it is gone does the open go ahead (true). If it filled meanwhile, that fill
 * is the report (false, e filled); a delete that fails is reported and nothing opens.
 */
bool CKpFollower::ReplaceOrder(CKpJson *p, const string comment, const string symbol, KpExec &e)
  {
   CKpJson *r = p.Get("replacesOrder");
   string ticketStr = r != NULL ? r.GetString("ticket") : "";
   long order = m_trader.FindPendingOrder(ticketStr, comment, symbol);
   if(order > 0)
     {
      KpExec d;
      KpExecReset(d);
      m_trader.RemovePending(order, d);
      if(d.status != "filled")
        {
         KpExecFail(e, d.status == "retry" ? "retry" : "rejected", d.errorCode, "the pending copy #" + KpTicketStr(order) + " could not be deleted, so nothing was opened: " + d.message);
         return false;
        }
      m_state.DropCopy(order);
      KpLog(StringFormat("pending copy #%s deleted: the master's order filled, the copy opens at market", KpTicketStr(order)));
      return true;
     }
   long t = StringToInteger(ticketStr);
   long position = 0;
   double volume = 0.0;
   if(t > 0 && m_trader.PendingHistory(t, position, volume) == KP_OHIST_FILLED && position > 0)
     {
      FromExisting(position, "the pending copy #" + KpTicketStr(t) + " filled before it could be replaced; that fill is reported and nothing was opened", e);
      return false;
     }
   return true;
  }

//--- trade.order_placed { orderId, masterOrderId, ticket: null, symbol, side, orderType, volume, price, stopLimitPrice, sl, tp, expiresAt, placeBy, comment }
//    The gateway has already reversed a reversed copy: side and type are placed as sent.
void CKpFollower::DoPlaceOrder(CKpJson *p, const bool recovering, KpExec &e)
  {
   string orderId = p.GetString("orderId");
   string symbol = p.GetString("symbol");
   string side = p.GetString("side");
   string tag = p.GetString("comment");
   int kind = KpOrderKind(p.GetString("orderType"));
   datetime expiresAt = 0;
   bool hasExpiry = KpParseIso(p.GetString("expiresAt"), expiresAt);
   long expiry = hasExpiry ? (long)expiresAt : 0;
   // The lookups first: a replay after a crash or a lost acknowledgement finds the order it
   // placed (by its tag), or the position that order became, and never places a second one.
   long existing = m_trader.FindPendingOrder("", tag, symbol);
   if(existing > 0)
     {
      e.status = "placed";
      e.ticket = KpTicketStr(existing);
      e.message = "already placed (found by its comment tag); not placed twice";
      m_state.TrackCopy(existing, orderId, symbol, expiry, hasExpiry && m_trader.PendingExpiration(existing) == 0);
      return;
     }
   long filled = recovering ? m_trader.FindFilledOrder(tag, symbol) : 0;
   if(filled > 0)
     {
      // Placed before the restart and filled since: reported placed with the order's ticket,
      // then told as order_filled by the fill watch.
      e.status = "placed";
      e.ticket = KpTicketStr(filled);
      e.message = "placed before a restart and filled since";
      m_state.TrackCopy(filled, orderId, symbol, 0, false);
      return;
     }
   if(m_state.IsCancelled(orderId))
     {
      KpExecFail(e, "failed", "cancelled", "cancelled by order.cancel before it was placed");
      return;
     }
   datetime placeBy = 0;
   if(KpParseIso(p.GetString("placeBy"), placeBy) && KpNowUtc() > placeBy)
     {
      KpExecFail(e, "failed", "expired", StringFormat("placement expired at %s (now %s): not placed", KpIso(placeBy), KpNowIso()));
      return;
     }
   if(kind == KP_ORDER_NONE || (side != "buy" && side != "sell"))
     {
      KpExecFail(e, "failed", "invalid_order_type", "cannot place a '" + side + " " + p.GetString("orderType") + "' order");
      return;
     }
   bool eaExpiry = false;
   m_trader.PlacePending(symbol, side, kind, p.GetDouble("volume"), p.GetDouble("price"), p.GetDouble("stopLimitPrice", 0.0), Level(p, "sl"), Level(p, "tp"),
                         expiry, tag, eaExpiry, e);
   if(e.status == "placed")
     {
      m_state.TrackCopy(StringToInteger(e.ticket), orderId, symbol, expiry, eaExpiry);
      KpLog(StringFormat("placed copy of master order %s: %s %s %s %s at %s -> order #%s%s", p.GetString("masterOrderId"), side, p.GetString("orderType"),
                         KpFormatNumber(e.volume, 8), symbol, KpFormatNumber(e.price, 8), e.ticket, e.message != "" ? " (" + e.message + ")" : ""));
     }
   else if(e.status != "retry" && e.status != "uncertain")
      KpLog(StringFormat("copy of master order %s (%s %s %s) NOT placed: %s %s", p.GetString("masterOrderId"), side, p.GetString("orderType"), symbol, e.errorCode, e.message));
  }

//--- trade.order_modified { orderId, masterOrderId, ticket, symbol, side, orderType, volume, price, stopLimitPrice, sl, tp, expiresAt, comment }
void CKpFollower::DoModifyOrder(CKpJson *p, KpExec &e)
  {
   string symbol = p.GetString("symbol");
   long ticket = m_trader.FindPendingOrder(p.GetString("ticket"), p.GetString("comment"), symbol);
   if(ticket <= 0)
     {
      long t = StringToInteger(p.GetString("ticket"));
      long position = 0;
      double volume = 0.0;
      if(t > 0 && m_trader.PendingHistory(t, position, volume) == KP_OHIST_FILLED)
         KpExecFail(e, "failed", "order_filled", StringFormat("order #%s already filled as position #%s; not modified", KpTicketStr(t), KpTicketStr(position)));
      else
         KpExecFail(e, "failed", KP_ERR_NO_ORDER, StringFormat("no pending order for master order %s (ticket %s)", p.GetString("masterOrderId"), t > 0 ? KpTicketStr(t) : "unknown"));
      return;
     }
   datetime expiresAt = 0;
   long expiry = KpParseIso(p.GetString("expiresAt"), expiresAt) ? (long)expiresAt : 0;
   int ci = m_state.CopyIndex(ticket);
   bool eaExpiry = ci >= 0 ? m_state.copies[ci].eaExpiry : false;
   m_trader.ModifyPending(ticket, p.GetDouble("price"), p.GetDouble("stopLimitPrice", 0.0), Level(p, "sl"), Level(p, "tp"), expiry, eaExpiry, e);
   if(e.status == "filled")
      m_state.TrackCopy(ticket, "", symbol, expiry, eaExpiry);
   KpLog(StringFormat("modify order #%s (master order %s) to %s: %s %s %s", KpTicketStr(ticket), p.GetString("masterOrderId"), KpFormatNumber(p.GetDouble("price"), 8), e.status,
                      e.errorCode, e.message));
  }

//--- trade.order_cancelled { orderId, masterOrderId, ticket, symbol, …, comment }: the master's order was cancelled or expired
void CKpFollower::DoCancelOrder(CKpJson *p, KpExec &e)
  {
   string symbol = p.GetString("symbol");
   long ticket = m_trader.FindPendingOrder(p.GetString("ticket"), p.GetString("comment"), symbol);
   if(ticket <= 0)
     {
      long t = StringToInteger(p.GetString("ticket"));
      long position = 0;
      double volume = 0.0;
      if(t > 0 && m_trader.PendingHistory(t, position, volume) == KP_OHIST_FILLED)
        {
         // The fill watch tells it (order_filled); the gateway then closes the unmatched position.
         KpExecFail(e, "failed", "order_filled", StringFormat("order #%s already filled as position #%s; nothing to delete", KpTicketStr(t), KpTicketStr(position)));
         return;
        }
      // Deleted before (a replay), expired at the broker, or never placed: nothing is left.
      e.status = "filled";
      e.ticket = t > 0 ? KpTicketStr(t) : "";
      e.message = "no pending order left for master order " + p.GetString("masterOrderId") + " (deleted or expired before); nothing to delete";
      m_state.DropCopy(t);
      return;
     }
   m_trader.RemovePending(ticket, e);
   if(e.status == "filled")
      m_state.DropCopy(ticket);
   KpLog(StringFormat("delete order #%s (master order %s): %s %s %s", KpTicketStr(ticket), p.GetString("masterOrderId"), e.status, e.errorCode, e.message));
  }

/** ea.execution_notice order_filled: the copy's pending order became position `position` (the placement's copy order becomes a position link). */
void CKpFollower::NoticeOrderFilled(const string orderId, const long order, const long position, const double volume, const string symbol)
  {
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("eventType", "ea.execution_notice");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.Str("orderId", orderId);
   w.Str("action", "order_filled");
   w.Str("status", "filled");
   w.Str("ticket", KpTicketStr(position));
   w.Str("previousTicket", KpTicketStr(order));
   w.Str("symbol", symbol);
   if(volume > 0.0)
      w.Num("volume", volume, 8);
   w.EndObject();
   w.EndObject();
   // Keyed by the order: a fill found again after a restart is not told twice.
   EnqueueRequest("inbox", "/sessions/current/inbox", "{\"events\":[" + w.Text() + "]}", "inbox:order-filled-" + KpTicketStr(order),
                  "ea.execution_notice order_filled " + orderId, true, true);
  }

/**
 * Every timer tick, the copies this follower placed: one that filled is told to the gateway
 * once (order_filled with the position's ticket); one the broker could not expire is deleted
 * by the EA at its expiry; one deleted or expired at the broker is forgotten.
 */
void CKpFollower::WatchPendingCopies(void)
  {
   bool changed = false;
   long now = (long)KpNowUtc();
   for(int i = ArraySize(m_state.copies) - 1; i >= 0; i--)
     {
      CKpCopyOrder *c = m_state.copies[i];
      long ticket = c.ticket;
      if(m_trader.PendingLive(ticket))
        {
         if(!KpCopyExpiryDue(c.eaExpiry, c.expiresAt, now) || !KpTradingAllowed())
            continue;
         KpExec d;
         KpExecReset(d);
         m_trader.RemovePending(ticket, d);
         if(d.status == "filled")
           {
            KpLog(StringFormat("order #%s reached its expiry %s (the broker takes no expiry time): deleted", KpTicketStr(ticket), KpIso((datetime)c.expiresAt)));
            m_state.DropCopy(ticket);
            changed = true;
           }
         else
            KpLogThrottled("expire-" + KpTicketStr(ticket), StringFormat("order #%s is past its expiry but could not be deleted yet: %s %s", KpTicketStr(ticket), d.errorCode, d.message), 60);
         continue;
        }
      long position = 0;
      double volume = 0.0;
      int h = m_trader.PendingHistory(ticket, position, volume);
      if(h == KP_OHIST_FILLED)
        {
         if(c.orderId != "")
            NoticeOrderFilled(c.orderId, ticket, position, volume, c.symbol);
         KpLog(StringFormat("pending copy #%s filled: position #%s, %s lots", KpTicketStr(ticket), KpTicketStr(position), KpFormatNumber(volume, 8)));
         m_state.DropCopy(ticket);
         changed = true;
         continue;
        }
      c.misses++;
      if(h == KP_OHIST_CANCELLED || h == KP_OHIST_EXPIRED || c.misses > 300)
        {
         KpLog(StringFormat("pending copy #%s is gone (%s)", KpTicketStr(ticket), h == KP_OHIST_EXPIRED ? "expired" : h == KP_OHIST_CANCELLED ? "deleted" : "not in the history"));
         m_state.DropCopy(ticket);
         changed = true;
        }
     }
   if(changed)
      m_state.Save();
  }

/** POST /executions { orderId, status, ticket?, price?, volume?, executedAt, errorCode?, message?, profit? } */
void CKpFollower::Report(const string type, const string orderId, KpExec &e)
  {
   if(orderId == "")
      return;
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("orderId", orderId);
   w.Str("status", e.status);
   if(e.ticket != "")
      w.Str("ticket", e.ticket);
   if(e.hasPrice && e.price > 0.0)
      w.Num("price", e.price, 8);
   if(e.hasVolume && e.volume >= 0.0)
      w.Num("volume", e.volume, 8);
   w.Str("executedAt", KpNowIso());
   if(e.errorCode != "")
     {
      if(KpIsDigits(e.errorCode))
         w.Int("errorCode", StringToInteger(e.errorCode));
      else
         w.Str("errorCode", e.errorCode);
     }
   if(e.message != "")
      w.Str("message", StringSubstr(e.message, 0, 1024));
   if(e.hasProfit)
      w.Num("profit", e.profit, 2);
   w.EndObject();
   // The key is derived from the order: a report re-sent after a restart is deduplicated.
   EnqueueRequest("execution", "/executions", w.Text(), "exec:" + orderId + ":" + e.status, "execution " + type + " " + orderId + " " + e.status + (e.ticket != "" ? " #" + e.ticket : ""), true, true);
  }

/** ea.execution_notice: the MT4 rest-of-partial-close ticket, and outcomes of manual commands. */
void CKpFollower::Notice(const string orderId, const string commandId, const string action, const string symbol, KpExec &e)
  {
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("eventType", "ea.execution_notice");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   if(orderId != "")
      w.Str("orderId", orderId);
   if(commandId != "")
      w.Str("commandId", commandId);
   if(action != "")
      w.Str("action", action);
   w.Str("status", e.status);
   if(e.ticket != "")
      w.Str("ticket", e.ticket);
   if(e.previousTicket != "")
      w.Str("previousTicket", e.previousTicket);
   if(symbol != "")
      w.Str("symbol", symbol);
   if(e.hasVolume && e.volume >= 0.0)
      w.Num("volume", e.volume, 8);
   if(e.message != "")
      w.Str("message", StringSubstr(e.message, 0, 1024));
   w.EndObject();
   w.EndObject();
   EnqueueInboxEvent(w.Text(), "ea.execution_notice " + (commandId != "" ? commandId : orderId), true, true);
  }

#endif // KOPITRA_FOLLOWER_MQH
