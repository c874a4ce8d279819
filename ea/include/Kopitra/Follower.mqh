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
//| position's comment tag kopitra:<masterPositionId>.                 |
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
   void              DoOpen(CKpJson *p, const bool recovering, KpExec &e);
   void              DoModify(CKpJson *p, KpExec &e);
   void              DoPartialClose(CKpJson *p, const bool recovering, KpExec &e);
   void              DoClose(CKpJson *p, const bool recovering, KpExec &e);
   void              DoCommand(CKpJson *p, KpExec &e);
   int               DoCancel(const string eventId, CKpJson *p);
   void              Report(const string type, const string orderId, KpExec &e);
   void              Notice(const string orderId, const string commandId, const string action, const string symbol, KpExec &e);
   static double     Level(CKpJson *p, const string key) { return p.GetDouble(key, 0.0); }

public:
   void              SetupTrader(void) { m_trader.Setup(m_cfg.magic, m_cfg.defaultDeviationPoints); }
  };

int CKpFollower::HandleTradeEvent(const string type, const string eventId, CKpJson *payload)
  {
   if(type == "order.cancel")
      return DoCancel(eventId, payload);
   bool trading = (type == "trade.started" || type == "trade.modified" || type == "trade.partial_close" || type == "trade.closed" || type == "order.command");
   if(!trading)
     {
      KpLog("unknown outbox event type " + type + " (" + eventId + "): acknowledged without action — is the EA older than the gateway?");
      return KP_EVENT_DONE;
     }
   CKpJournal *j = m_state.FindJournal(eventId);
   if(j != NULL && j.state == "done")
      return KP_EVENT_DONE;   // executed before; the acknowledgement was lost
   if(!KpTradingAllowed())
     {
      KpLogThrottled("autotrading-wait", "AutoTrading is off: " + type + " and later events wait until it is switched on (the gateway expires opens that wait too long)", 300);
      return KP_EVENT_LATER;
     }
   bool recovering = (j != NULL && j.state == "inflight");
   string orderId = payload.GetString("orderId");
   KpExec e;
   KpExecReset(e);
   m_state.Journal(eventId, orderId, "inflight", "");
   m_state.Save();
   if(type == "trade.started")
      DoOpen(payload, recovering, e);
   else if(type == "trade.modified")
      DoModify(payload, e);
   else if(type == "trade.partial_close")
      DoPartialClose(payload, recovering, e);
   else if(type == "trade.closed")
      DoClose(payload, recovering, e);
   else if(type == "order.command")
     {
      DoCommand(payload, e);
      m_state.Journal(eventId, orderId, "done", e.ticket);
      Notice("", payload.GetString("commandId"), payload.GetString("action"), payload.GetString("symbol"), e);
      m_state.Save();
      return KP_EVENT_DONE;
     }
   m_state.Journal(eventId, orderId, "done", e.ticket);
   Report(type, orderId, e);
   if(e.previousTicket != "")
      Notice(orderId, "", "", payload.GetString("symbol"), e);
   m_state.Save();
   return KP_EVENT_DONE;
  }

//--- trade.started { orderId, masterAccountId, masterPositionId, symbol, side, volume, sl, tp, masterPrice, maxSlippage, expiresAt, comment }
void CKpFollower::DoOpen(CKpJson *p, const bool recovering, KpExec &e)
  {
   string orderId = p.GetString("orderId");
   string masterPositionId = p.GetString("masterPositionId");
   string symbol = p.GetString("symbol");
   string side = p.GetString("side");
   string comment = p.GetString("comment");
   if(comment == "")
      comment = KpPositionTag(masterPositionId);
   if(m_state.IsCancelled(orderId))
     {
      KpExecFail(e, "failed", "cancelled", "cancelled by order.cancel before it was executed");
      return;
     }
   // expiresAt: never open after it (the price has moved on); the gateway records the reason.
   datetime expiresAt = 0;
   if(KpParseIso(p.GetString("expiresAt"), expiresAt) && KpNowUtc() > expiresAt)
     {
      KpExecFail(e, "failed", "expired", StringFormat("signal expired at %s (now %s): not opened", KpIso(expiresAt), KpNowIso()));
      return;
     }
   if(side != "buy" && side != "sell")
     {
      KpExecFail(e, "failed", "invalid_side", "unknown side '" + side + "'");
      return;
     }
   // Hedging: a position already carrying this master position's tag means this open already
   // happened (restart mid-way, or a re-delivered event): never open it twice.
   if(!KpIsNetting())
     {
      long existing = m_trader.FindPosition("", masterPositionId, symbol);
      if(existing > 0)
        {
         string s2, d2;
         double v2, op2, sl2, tp2;
         m_trader.PositionInfo(existing, s2, d2, v2, op2, sl2, tp2);
         e.status = "filled";
         e.ticket = KpTicketStr(existing);
         e.price = op2;
         e.volume = v2;
         e.hasPrice = op2 > 0;
         e.hasVolume = v2 > 0;
         e.message = "already open (found by its comment tag); not opened twice";
         return;
        }
     }
   else if(recovering && m_trader.FindRecentOpen(comment, symbol, e))
      return;
   long maxSlippage = p.HasNull("maxSlippage") || !p.Has("maxSlippage") ? -1 : p.GetLong("maxSlippage", -1);
   m_trader.Open(symbol, side, p.GetDouble("volume"), Level(p, "sl"), Level(p, "tp"), comment, maxSlippage, p.GetDouble("masterPrice"), e);
   if(e.status == "filled")
      KpLog(StringFormat("copied %s: %s %s %s -> #%s at %s%s", masterPositionId, side, KpFormatNumber(e.volume, 8), symbol, e.ticket, KpFormatNumber(e.price, 8), e.message != "" ? " (" + e.message + ")" : ""));
   else
      KpLog(StringFormat("copy of %s %s %s NOT opened: %s %s", masterPositionId, side, symbol, e.errorCode, e.message));
  }

//--- trade.modified { orderId, masterPositionId, ticket, symbol, sl?, tp? } — an absent key keeps the level, null removes it
void CKpFollower::DoModify(CKpJson *p, KpExec &e)
  {
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("masterPositionId"), p.GetString("symbol"));
   if(ticket <= 0)
     {
      KpExecFail(e, "failed", "position_not_found", "no open position for master position " + p.GetString("masterPositionId"));
      return;
     }
   m_trader.Modify(ticket, p.Has("sl"), Level(p, "sl"), p.Has("tp"), Level(p, "tp"), e);
   KpLog(StringFormat("modify #%s (master %s): %s %s", KpTicketStr(ticket), p.GetString("masterPositionId"), e.status, e.message));
  }

//--- trade.partial_close { orderId, masterPositionId, ticket, symbol, volume }
void CKpFollower::DoPartialClose(CKpJson *p, const bool recovering, KpExec &e)
  {
   if(recovering)
     {
      // The terminal stopped during this partial close: repeating it could close twice as much.
      KpExecFail(e, "failed", "outcome_unknown", "interrupted by a restart; not repeated (reconciliation compares the book)");
      return;
     }
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("masterPositionId"), p.GetString("symbol"));
   if(ticket <= 0)
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
   m_trader.ClosePartial(ticket, volume, m_trader.Deviation(-1), e);
   KpLog(StringFormat("partial close #%s %s (master %s): %s%s %s", KpTicketStr(ticket), KpFormatNumber(volume, 8), p.GetString("masterPositionId"), e.status,
                      e.previousTicket != "" ? ", rest is now #" + e.ticket : "", e.message));
  }

//--- trade.closed { orderId, masterPositionId, ticket, symbol, volume? }
void CKpFollower::DoClose(CKpJson *p, const bool recovering, KpExec &e)
  {
   long ticket = m_trader.FindPosition(p.GetString("ticket"), p.GetString("masterPositionId"), p.GetString("symbol"));
   if(ticket <= 0)
     {
      if(recovering)
        {
         e.status = "filled";
         e.ticket = p.GetString("ticket");
         e.message = "closed before a restart";
         return;
        }
      KpExecFail(e, "failed", "position_not_found", "no open position for master position " + p.GetString("masterPositionId") + " (closed by hand, SL/TP or stop-out?)");
      return;
     }
   // Hedging: the whole copy closes. Netting: only this copy's volume leaves the net position.
   double volume = KpIsNetting() ? p.GetDouble("volume", 0.0) : 0.0;
   m_trader.Close(ticket, volume, m_trader.Deviation(-1), e);
   KpLog(StringFormat("close #%s (master %s): %s %s", KpTicketStr(ticket), p.GetString("masterPositionId"), e.status, e.message));
  }

//--- order.command { commandId, requestedBy, action: open | close | modify | close_all, ... } (manual, from an operator)
void CKpFollower::DoCommand(CKpJson *p, KpExec &e)
  {
   string action = p.GetString("action");
   KpLog("manual order.command " + p.GetString("commandId") + " from " + p.GetString("requestedBy") + ": " + action);
   if(action == "open")
     {
      string comment = p.GetString("comment", "kopitra:manual");
      m_trader.Open(p.GetString("symbol"), p.GetString("side"), p.GetDouble("volume"), Level(p, "sl"), Level(p, "tp"), comment, -1, 0.0, e);
     }
   else if(action == "close")
     {
      long ticket = m_trader.FindPosition(p.GetString("ticket"), "", "");
      if(ticket <= 0)
         KpExecFail(e, "failed", "position_not_found", "no open position #" + p.GetString("ticket"));
      else if(p.Has("volume") && !p.HasNull("volume"))
         m_trader.ClosePartial(ticket, p.GetDouble("volume"), m_trader.Deviation(-1), e);
      else
         m_trader.Close(ticket, 0.0, m_trader.Deviation(-1), e);
     }
   else if(action == "modify")
     {
      long ticket = m_trader.FindPosition(p.GetString("ticket"), "", "");
      if(ticket <= 0)
         KpExecFail(e, "failed", "position_not_found", "no open position #" + p.GetString("ticket"));
      else
         m_trader.Modify(ticket, p.Has("sl"), Level(p, "sl"), p.Has("tp"), Level(p, "tp"), e);
     }
   else if(action == "close_all")
     {
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
