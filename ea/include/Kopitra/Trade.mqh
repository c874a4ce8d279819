//+------------------------------------------------------------------+
//| Kopitra/Trade.mqh — the follower's trade primitives                |
//|                                                                    |
//| MT5: CTrade (https://www.mql5.com/en/docs/standardlibrary/tradeclasses/ctrade),
//|      pending orders with OrderOpen / OrderModify / OrderDelete     |
//| MT4: OrderSend / OrderModify / OrderClose / OrderDelete            |
//|      (https://docs.mql4.com/trading/ordersend, .../orderclose,     |
//|       .../ordermodify)                                             |
//| Every primitive fills a KpExec with what POST /executions needs.   |
//+------------------------------------------------------------------+
#ifndef KOPITRA_TRADE_MQH
#define KOPITRA_TRADE_MQH

#include "Common.mqh"
#include "Json.mqh"
#include "Time.mqh"
#include "Telemetry.mqh"

#ifdef __MQL5__
   #include <Trade\Trade.mqh>
#endif

//--- the outcome of one trade operation
struct KpExec
  {
   string            status;          // filled | rejected | failed; before a report also
                                      // retry (temporary, nothing executed) | uncertain (may have executed)
   string            ticket;          // the follower's ticket after the operation ("" = unknown)
   string            previousTicket;  // MT4 partial close: the ticket before (the rest gets a new one)
   double            price;
   double            volume;
   double            profit;
   bool              hasPrice;
   bool              hasVolume;
   bool              hasProfit;
   string            errorCode;       // digits → sent as a JSON number (MT retcode / error), else as a string
   string            message;
   bool              unprotected;     // filled, but without the SL/TP the master has (stops level)
   long              placedOrder;     // MT5: the order answered PLACED (on the exchange, no deal yet), else 0
  };

void KpExecReset(KpExec &e)
  {
   e.status = "failed";
   e.ticket = "";
   e.previousTicket = "";
   e.price = 0;
   e.volume = 0;
   e.profit = 0;
   e.hasPrice = false;
   e.hasVolume = false;
   e.hasProfit = false;
   e.errorCode = "";
   e.message = "";
   e.unprotected = false;
   e.placedOrder = 0;
  }

void KpExecFail(KpExec &e, const string status, const string code, const string message)
  {
   e.status = status;
   e.errorCode = code;
   e.message = message;
  }

/** Adds `ticket` opened at `openedAt` to `tickets`, kept newest first (ties: the higher ticket first). */
void KpInsertNewestFirst(long &tickets[], long &times[], const long ticket, const long openedAt)
  {
   int n = ArraySize(tickets);
   ArrayResize(tickets, n + 1);
   ArrayResize(times, n + 1);
   int at = n;
   while(at > 0 && (times[at - 1] < openedAt || (times[at - 1] == openedAt && tickets[at - 1] < ticket)))
     {
      tickets[at] = tickets[at - 1];
      times[at] = times[at - 1];
      at--;
     }
   tickets[at] = ticket;
   times[at] = openedAt;
  }

bool KpIsDigits(const string s)
  {
   int n = StringLen(s);
   if(n == 0 || n > 18)
      return false;
   for(int i = 0; i < n; i++)
     {
      ushort c = StringGetCharacter(s, i);
      if(c < '0' || c > '9')
         return false;
     }
   return true;
  }

/** Floors a volume to the symbol's step and checks it against min/max (SYMBOL_VOLUME_*). */
bool KpNormaliseVolume(const string symbol, const double wanted, double &volume, string &why)
  {
   double vmin = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MIN);
   double vmax = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MAX);
   double step = SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP);
   if(step <= 0.0)
      step = (vmin > 0.0) ? vmin : 0.01;
   // + 1e-9: 0.3 / 0.1 is 2.9999999999999996 in binary floating point
   double v = MathFloor(wanted / step + 1e-9) * step;
   v = NormalizeDouble(v, KpStepDigits(step));
   if(vmax > 0.0 && v > vmax)
      v = NormalizeDouble(MathFloor(vmax / step + 1e-9) * step, KpStepDigits(step));
   if(v < vmin - 1e-9 || v <= 0.0)
     {
      why = StringFormat("volume %s rounds to %s, under the minimum %s of %s", KpFormatNumber(wanted, 8), KpFormatNumber(v, 8), KpFormatNumber(vmin, 8), symbol);
      return false;
     }
   volume = v;
   return true;
  }

/**
 * Makes sure the symbol exists and is in Market Watch (prices are only streamed for those).
 * SymbolSelect fails for a name the broker does not have
 * (https://www.mql5.com/en/docs/marketinformation/symbolselect, https://docs.mql4.com/marketinformation/symbolselect).
 */
bool KpEnsureSymbol(const string symbol, string &why)
  {
   if(symbol == "")
     {
      why = "no symbol";
      return false;
     }
   ResetLastError();
   if(!SymbolSelect(symbol, true))
     {
      why = StringFormat("symbol %s is not available on this broker (error %d): add a symbol map entry in the console", symbol, GetLastError());
      return false;
     }
   return true;
  }

/** Parses the ticket number after `prefix` in an MT4 comment such as "from #12345" / "to #12346". */
long KpCommentRef(const string comment, const string prefix)
  {
   int at = StringFind(comment, prefix);
   if(at < 0)
      return 0;
   int i = at + StringLen(prefix);
   int n = StringLen(comment);
   long v = 0;
   bool any = false;
   while(i < n)
     {
      ushort c = StringGetCharacter(comment, i);
      if(c < '0' || c > '9')
         break;
      v = v * 10 + (long)(c - '0');
      any = true;
      i++;
     }
   return any ? v : 0;
  }

#ifdef __MQL5__
#define KP_OP_BUY            1
#define KP_OP_SELL           2
#define KP_OP_CLOSE          3
#define KP_OP_CLOSE_PARTIAL  4
#define KP_OP_MODIFY_TICKET  5
#define KP_OP_MODIFY_SYMBOL  6
#endif

//+------------------------------------------------------------------+
//| CKpTrader                                                          |
//+------------------------------------------------------------------+
class CKpTrader
  {
private:
   int               m_magic;
   int               m_defaultDeviation;
   int               m_deviation;
   int               m_class;        // KP_RC_* of the last operation (Logic.mqh)
   bool              m_slippage;     // the last operation stopped because the price moved beyond maxSlippage
   double            m_adverse;      // … by this many points
   int               m_lastErr;
#ifdef __MQL5__
   CTrade            m_trade;
   uint              m_rc;           // the last operation's own result (never a previous one)
   ulong             m_deal;
   ulong             m_order;
   double            m_resPrice;
   double            m_resVolume;
   string            m_resComment;
   bool              Exec(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment, const long maxSlippage = -1, const double masterPrice = 0.0);
   bool              SendReturn(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment);
   void              DealDetails(KpExec &e);
   long              PositionTicketById(const long positionId);
   bool              SendPending(const int op, const string symbol, const ulong ticket, const ENUM_ORDER_TYPE type, const double volume, const double price,
                                 const double stopLimit, const double sl, const double tp, const ENUM_ORDER_TYPE_TIME typeTime, const datetime expiration, const string comment);
#else
   bool              WaitContext(void);
   double            ClosePrice(const string symbol, const int type);
   long              FindRest(const long ticket);
   string            ErrorText(const int code);
#endif
   void              FailFromResult(KpExec &e, const string what);
   bool              IsFrozen(const long ticket);

public:
                     CKpTrader(void) { m_magic = 0; m_defaultDeviation = 30; m_deviation = 30; m_class = KP_RC_FINAL; m_slippage = false; m_adverse = 0; m_lastErr = 0; }
   void              Setup(const int magic, const int defaultDeviation);
   int               Deviation(const long maxSlippage) { return maxSlippage >= 0 ? (int)maxSlippage : m_defaultDeviation; }
   /** By ticket, else (hedging) by the tag the gateway sent, else by a legacy tag that only one position has. */
   long              FindPosition(const string ticketStr, const string tag, const string masterPositionId, const string symbol);
   int               TaggedPositions(const string tag, const string masterPositionId, const string symbol, long &tickets[]);
   bool              PositionInfo(const long ticket, string &symbol, string &side, double &volume, double &openPrice, double &sl, double &tp);
   void              Open(const string symbol, const string side, const double volume, const double sl, const double tp, const string comment, const long maxSlippage, const double masterPrice, KpExec &e);
   void              Modify(const long ticket, const bool setSl, const double sl, const bool setTp, const double tp, KpExec &e);
   /** `copySide` (netting): the closed copy's side; the exit deals the other side, whichever way the net position stands. */
   void              ClosePartial(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide = "");
   void              Close(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide = "");
   int               CloseAllManaged(const string symbolFilter, const int deviation, string &report);
   bool              DeletePending(const long ticket, string &why);
   bool              FindRecentOpen(const string tag, const string symbol, KpExec &e);
   bool              FindTaggedDeal(const string tag, const string symbol, KpExec &e);
   int               PlacedOrderDecision(const long order, const int attempts, long &state);
   //--- pending orders (trade.order_placed / _modified / _cancelled)
   void              PlacePending(const string symbol, const string side, const int kind, const double volume, const double price, const double stopLimit,
                                  const double sl, const double tp, const long expiresAt, const string comment, bool &eaExpiry, KpExec &e);
   void              ModifyPending(const long ticket, const double price, const double stopLimit, const double sl, const double tp, const long expiresAt,
                                   bool &eaExpiry, KpExec &e);
   void              RemovePending(const long ticket, KpExec &e);
   long              FindPendingOrder(const string ticketStr, const string tag, const string symbol);
   bool              PendingLive(const long ticket);
   int               PendingHistory(const long ticket, long &position, double &volume);
   datetime          PendingExpiration(const long ticket);
   long              FindFilledOrder(const string tag, const string symbol);
  };

/** A pending order the broker would refuse (Logic.mqh KpPendingPlacement / KpPendingFrozen): rejected with the broker's code, nothing sent. */
void KpRefusePending(KpExec &e, const int refusal, const string what, const double gapPoints, const long levelPoints)
  {
#ifdef __MQL5__
   bool mt5 = true;
#else
   bool mt5 = false;
#endif
   string why = "";
   if(refusal == KP_PEND_WRONG_SIDE)
      why = "on the wrong side of the market (it would fill at once)";
   else if(refusal == KP_PEND_TOO_CLOSE)
      why = StringFormat("%.0f points from the market, inside the stops level (%I64d points)", gapPoints, levelPoints);
   else if(refusal == KP_PEND_STOPS)
      why = StringFormat("its SL or TP is on the wrong side or within the stops level (%I64d points) of the order's price", levelPoints);
   else if(refusal == KP_PEND_FROZEN)
      why = StringFormat("%.0f points from the market, inside the freeze level (%I64d points): it cannot be changed now", gapPoints, levelPoints);
   KpExecFail(e, "rejected", IntegerToString(KpPendingRefusalCode(refusal, mt5)), what + ": " + why);
  }

void CKpTrader::Setup(const int magic, const int defaultDeviation)
  {
   m_magic = magic;
   m_defaultDeviation = defaultDeviation;
   m_deviation = defaultDeviation;
#ifdef __MQL5__
   m_trade.SetExpertMagicNumber((ulong)magic);
   m_trade.SetDeviationInPoints((ulong)defaultDeviation);
   m_trade.SetAsyncMode(false);       // the result must be known before the report
   m_trade.SetMarginMode();           // reads ACCOUNT_MARGIN_MODE
   m_trade.LogLevel(LOG_LEVEL_ERRORS);
#endif
  }

/**
 * The report of a failed operation from the class Logic.mqh gave its answer: temporary codes
 * come back as "retry" (nothing executed; the event is tried again later), a timeout or an
 * order placed without a deal as "uncertain" (the next attempt looks for the trade first).
 */
void CKpTrader::FailFromResult(KpExec &e, const string what)
  {
   if(m_slippage)
     {
      KpExecFail(e, "rejected", "slippage_exceeded", StringFormat("%s: price moved %.1f points against the master's price (max %d)", what, m_adverse, m_deviation));
      return;
     }
#ifdef __MQL5__
   long code = m_rc != 0 ? (long)m_rc : (long)m_lastErr;
   string text = m_rc != 0 ? "retcode " + IntegerToString(m_rc) + (m_resComment != "" ? " " + m_resComment : "") : "error " + IntegerToString(m_lastErr);
#else
   long code = (long)m_lastErr;
   string text = ErrorText(m_lastErr);
#endif
   e.errorCode = IntegerToString(code);
   e.message = what + ": " + text;
   if(m_class == KP_RC_RETRY_LATER || m_class == KP_RC_RETRY_NOW)
      e.status = "retry";
   else if(m_class == KP_RC_UNCERTAIN)
     {
      e.status = "uncertain";
#ifdef __MQL5__
      // PLACED: the order is on the exchange without a deal. Its number is kept so the next
      // attempt asks what became of it instead of sending another one (KpPlacedOrderDecision).
      if(m_rc == 10008 && m_order > 0)
         e.placedOrder = (long)m_order;
#endif
     }
   else if(m_class == KP_RC_NOT_SENT)
     {
      e.status = "failed";
      e.errorCode = "position_not_found";
      e.message = what + ": the position could not be selected; nothing was sent";
     }
   else
      e.status = "rejected";
  }

//====================================================================
#ifdef __MQL5__
//====================================================================

/**
 * A deal for a symbol whose market execution allows neither FOK nor IOC: CTrade's own filling
 * check would override the mode and fail locally with INVALID_FILL, so the request is built
 * here with ORDER_FILLING_RETURN (https://www.mql5.com/en/docs/constants/structures/mqltraderequest).
 */
bool CKpTrader::SendReturn(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment)
  {
   MqlTradeRequest req;
   MqlTradeResult res;
   ZeroMemory(req);
   ZeroMemory(res);
   req.action = TRADE_ACTION_DEAL;
   req.symbol = symbol;
   req.magic = (ulong)m_magic;
   req.deviation = (ulong)m_deviation;
   req.type_filling = ORDER_FILLING_RETURN;
   req.type_time = ORDER_TIME_GTC;
   req.comment = comment;
   req.volume = volume;
   if(op == KP_OP_BUY || op == KP_OP_SELL)
     {
      req.type = (op == KP_OP_BUY) ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
      req.sl = sl;
      req.tp = tp;
     }
   else
     {
      if(!PositionSelectByTicket(ticket))
        {
         m_rc = 0;
         return false;
        }
      req.symbol = PositionGetString(POSITION_SYMBOL);
      req.type = PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? ORDER_TYPE_SELL : ORDER_TYPE_BUY;
      if(op == KP_OP_CLOSE)
         req.volume = PositionGetDouble(POSITION_VOLUME);
      if(!KpIsNetting())
         req.position = ticket;
     }
   MqlTick tick;
   if(!SymbolInfoTick(req.symbol, tick))
     {
      m_rc = 0;
      return false;
     }
   req.price = (req.type == ORDER_TYPE_BUY) ? tick.ask : tick.bid;
   bool ok = OrderSend(req, res);
   m_rc = res.retcode;
   m_deal = res.deal;
   m_order = res.order;
   m_resPrice = res.price;
   m_resVolume = res.volume;
   m_resComment = res.comment;
   return ok;
  }

/**
 * Sends one operation. Price moves (requote, price changed, off quotes) are retried at once,
 * re-checking maxSlippage against the master's price before every attempt; 10030 INVALID_FILL
 * moves to the next allowed filling mode. The class of the last answer (Logic.mqh: KpMt5Result)
 * is kept for the report: "Successful completion of the PositionOpen(...) method does not
 * always mean successful execution" — the retcode and the deal ticket decide
 * (https://www.mql5.com/en/docs/standardlibrary/tradeclasses/ctrade/ctradepositionopen).
 */
bool CKpTrader::Exec(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment, const long maxSlippage, const double masterPrice)
  {
   m_class = KP_RC_FINAL;
   m_slippage = false;
   m_rc = 0;
   m_deal = 0;
   m_order = 0;
   m_resPrice = 0;
   m_resVolume = 0;
   m_resComment = "";
   m_lastErr = 0;
   bool isModify = (op == KP_OP_MODIFY_TICKET || op == KP_OP_MODIFY_SYMBOL);
   bool isOpen = (op == KP_OP_BUY || op == KP_OP_SELL);
   int fill = KpFillingMode((int)SymbolInfoInteger(symbol, SYMBOL_TRADE_EXEMODE), SymbolInfoInteger(symbol, SYMBOL_FILLING_MODE));
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   for(int attempt = 0; attempt < 4; attempt++)
     {
      if(isOpen && maxSlippage >= 0 && masterPrice > 0.0)
        {
         MqlTick tick;
         if(SymbolInfoTick(symbol, tick) && KpSlippageExceeded(op == KP_OP_BUY, masterPrice, tick.ask, tick.bid, point, maxSlippage))
           {
            m_slippage = true;
            m_adverse = KpAdversePoints(op == KP_OP_BUY, masterPrice, tick.ask, tick.bid, point);
            m_class = KP_RC_FINAL;
            return false;
           }
        }
      bool returned = false;
      ResetLastError();
      if(fill == KP_FILL_RETURN && !isModify)
         returned = SendReturn(op, symbol, ticket, volume, sl, tp, comment);
      else
        {
         if(fill == KP_FILL_FOK)
            m_trade.SetTypeFilling(ORDER_FILLING_FOK);
         else if(fill == KP_FILL_IOC)
            m_trade.SetTypeFilling(ORDER_FILLING_IOC);
         m_trade.SetDeviationInPoints((ulong)m_deviation);
         if(op == KP_OP_BUY)
            returned = m_trade.Buy(volume, symbol, 0.0, sl, tp, comment);          // price 0 → current Ask
         else if(op == KP_OP_SELL)
            returned = m_trade.Sell(volume, symbol, 0.0, sl, tp, comment);         // price 0 → current Bid
         else if(op == KP_OP_CLOSE)
            returned = m_trade.PositionClose(ticket);
         else if(op == KP_OP_CLOSE_PARTIAL)
            returned = m_trade.PositionClosePartial(ticket, volume);                // hedging accounts only
         else if(op == KP_OP_MODIFY_TICKET)
            returned = m_trade.PositionModify(ticket, sl, tp);
         else if(op == KP_OP_MODIFY_SYMBOL)
            returned = m_trade.PositionModify(symbol, sl, tp);
         m_rc = m_trade.ResultRetcode();
         m_deal = m_trade.ResultDeal();
         m_order = m_trade.ResultOrder();
         m_resPrice = m_trade.ResultPrice();
         m_resVolume = m_trade.ResultVolume();
         m_resComment = m_trade.ResultComment();
        }
      m_lastErr = GetLastError();
      m_class = KpMt5Result(returned, m_rc, m_deal, isModify);
      if(m_class == KP_RC_DONE)
         return true;
      if(m_class == KP_RC_NO_CHANGES && isModify)
         return true;
      if(m_class == KP_RC_INVALID_FILL && !isModify && fill != KP_FILL_RETURN)
        {
         fill = (fill == KP_FILL_FOK && (SymbolInfoInteger(symbol, SYMBOL_FILLING_MODE) & SYMBOL_FILLING_IOC) == SYMBOL_FILLING_IOC) ? KP_FILL_IOC : KP_FILL_RETURN;
         continue;
        }
      if(m_class == KP_RC_RETRY_NOW)
         continue;   // a fresh price on the next call (price 0 / position close)
      return false;
     }
   return false;
  }

long CKpTrader::PositionTicketById(const long positionId)
  {
   if(positionId <= 0)
      return 0;
   if(PositionSelectByTicket((ulong)positionId) && PositionGetInteger(POSITION_IDENTIFIER) == positionId)
      return positionId;
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong t = PositionGetTicket(i);
      if(t > 0 && PositionGetInteger(POSITION_IDENTIFIER) == positionId)
         return (long)t;
     }
   return 0;
  }

/** Fill price, volume and profit from the deal of the last result (falls back to the result itself). */
void CKpTrader::DealDetails(KpExec &e)
  {
   e.price = m_resPrice;
   e.volume = m_resVolume;
   if(m_deal > 0 && HistoryDealSelect(m_deal))
     {
      e.price = HistoryDealGetDouble(m_deal, DEAL_PRICE);
      e.volume = HistoryDealGetDouble(m_deal, DEAL_VOLUME);
      long entry = HistoryDealGetInteger(m_deal, DEAL_ENTRY);
      if(entry != DEAL_ENTRY_IN)
        {
         e.profit = HistoryDealGetDouble(m_deal, DEAL_PROFIT) + HistoryDealGetDouble(m_deal, DEAL_SWAP) + HistoryDealGetDouble(m_deal, DEAL_COMMISSION);
         e.hasProfit = true;
        }
     }
   e.hasPrice = e.price > 0.0;
   e.hasVolume = e.volume > 0.0;
  }

long CKpTrader::FindPosition(const string ticketStr, const string tag, const string masterPositionId, const string symbol)
  {
   // A ticket first, on netting accounts too: a manual order.command names only the ticket.
   long t = StringToInteger(ticketStr);
   if(t > 0 && PositionSelectByTicket((ulong)t))
      return t;
   if(KpIsNetting())
     {
      // One position per symbol: every copy on this symbol lives in it.
      if(symbol != "" && PositionSelect(symbol))
         return PositionGetInteger(POSITION_TICKET);
      return 0;
     }
   if(tag == "" && masterPositionId == "")
      return 0;
   // After a restart (or before the fill was reported) the comment tag finds it: the group's
   // tag kp:<group>:<id>, or a legacy kopitra:<id> only when no other position has it (a
   // follower of two masters that use the same position id may hold two of those).
   long legacy = 0;
   int legacyCount = 0;
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong pt = PositionGetTicket(i);
      if(pt == 0)
         continue;
      if(symbol != "" && PositionGetString(POSITION_SYMBOL) != symbol)
         continue;
      int m = KpTagMatch(PositionGetString(POSITION_COMMENT), tag, masterPositionId);
      if(m == KP_TAG_EXACT)
         return (long)pt;
      if(m == KP_TAG_LEGACY)
        {
         legacy = (long)pt;
         legacyCount++;
        }
     }
   return legacyCount == 1 ? legacy : 0;
  }

/** Hedging: every open position carrying this master position's tag, newest first (a copy the master added to holds several). */
int CKpTrader::TaggedPositions(const string tag, const string masterPositionId, const string symbol, long &tickets[])
  {
   long times[];
   ArrayResize(tickets, 0);
   ArrayResize(times, 0);
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong pt = PositionGetTicket(i);
      if(pt == 0)
         continue;
      if(symbol != "" && PositionGetString(POSITION_SYMBOL) != symbol)
         continue;
      if(KpCopyTagged(PositionGetString(POSITION_COMMENT), tag, masterPositionId))
         KpInsertNewestFirst(tickets, times, (long)pt, PositionGetInteger(POSITION_TIME_MSC));
     }
   return ArraySize(tickets);
  }

bool CKpTrader::PositionInfo(const long ticket, string &symbol, string &side, double &volume, double &openPrice, double &sl, double &tp)
  {
   if(ticket <= 0 || !PositionSelectByTicket((ulong)ticket))
      return false;
   symbol = PositionGetString(POSITION_SYMBOL);
   side = PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? "buy" : "sell";
   volume = PositionGetDouble(POSITION_VOLUME);
   openPrice = PositionGetDouble(POSITION_PRICE_OPEN);
   sl = PositionGetDouble(POSITION_SL);
   tp = PositionGetDouble(POSITION_TP);
   return true;
  }

/** SYMBOL_TRADE_FREEZE_LEVEL: the server refuses to modify or close a position this close to its SL/TP. */
bool CKpTrader::IsFrozen(const long ticket)
  {
   string symbol, side;
   double volume, openPrice, sl, tp;
   MqlTick tick;
   if(!PositionInfo(ticket, symbol, side, volume, openPrice, sl, tp) || !SymbolInfoTick(symbol, tick))
      return false;
   return KpFrozen(side == "buy", tick.bid, tick.ask, sl, tp, SymbolInfoInteger(symbol, SYMBOL_TRADE_FREEZE_LEVEL), SymbolInfoDouble(symbol, SYMBOL_POINT));
  }

/** A deal of the last day carrying `tag` as its comment: the trade of an interrupted event happened. */
bool CKpTrader::FindTaggedDeal(const string tag, const string symbol, KpExec &e)
  {
   datetime now = TimeTradeServer();
   if(tag == "" || !HistorySelect(now - 86400, now + 60))
      return false;
   for(int i = HistoryDealsTotal() - 1; i >= 0; i--)
     {
      ulong d = HistoryDealGetTicket(i);
      if(d == 0 || HistoryDealGetString(d, DEAL_COMMENT) != tag)
         continue;
      if(symbol != "" && HistoryDealGetString(d, DEAL_SYMBOL) != symbol)
         continue;
      e.status = "filled";
      e.price = HistoryDealGetDouble(d, DEAL_PRICE);
      e.volume = HistoryDealGetDouble(d, DEAL_VOLUME);
      e.hasPrice = true;
      e.hasVolume = true;
      long t = PositionTicketById(HistoryDealGetInteger(d, DEAL_POSITION_ID));
      e.ticket = KpTicketStr(t > 0 ? t : HistoryDealGetInteger(d, DEAL_POSITION_ID));
      e.message = "found deal #" + KpTicketStr((long)d) + " of this order from before a restart; not repeated";
      return true;
     }
   return false;
  }

/** Recovery after a crash mid-open: a deal carrying the open's comment means it executed. */
/**
 * What became of an order the trade server answered PLACED: still among the terminal's
 * orders, or its state in the history (`state` -1 when neither has it yet).
 */
int CKpTrader::PlacedOrderDecision(const long order, const int attempts, long &state)
  {
   state = -1;
   bool active = order > 0 && OrderSelect((ulong)order);
   if(!active && order > 0 && HistoryOrderSelect((ulong)order))
      state = HistoryOrderGetInteger((ulong)order, ORDER_STATE);
   return KpPlacedOrderDecision(active, state, attempts);
  }

bool CKpTrader::FindRecentOpen(const string tag, const string symbol, KpExec &e)
  {
   if(!FindTaggedDeal(tag, symbol, e))
      return false;
   if(KpIsNetting())
     {
      long t = FindPosition("", "", "", symbol);
      if(t > 0)
         e.ticket = KpTicketStr(t);
     }
   e.message = "found the deal of an open interrupted by a restart; not opened twice";
   return true;
  }

void CKpTrader::Open(const string symbol, const string side, const double volume, const double sl, const double tp, const string comment, const long maxSlippage, const double masterPrice, KpExec &e)
  {
   string why;
   if(!KpEnsureSymbol(symbol, why))
     {
      KpExecFail(e, "failed", "symbol_unknown", why);
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, volume, vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   MqlTick tick;
   if(!SymbolInfoTick(symbol, tick) || tick.ask <= 0.0 || tick.bid <= 0.0)
     {
      KpExecFail(e, "retry", "no_quote", "no current price for " + symbol + " (market closed or symbol not streaming)");
      return;
     }
   m_deviation = Deviation(maxSlippage);
   bool buy = (side == "buy");
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   // SYMBOL_TRADE_STOPS_LEVEL: levels closer to the price are refused (10016). Such a level is
   // left out of the open and set afterwards when the price allows it.
   long stopsLevel = SymbolInfoInteger(symbol, SYMBOL_TRADE_STOPS_LEVEL);
   int bad = KpStopsViolations(buy, tick.bid, tick.ask, nsl, ntp, stopsLevel, point);
   double sendSl = (bad & KP_STOPS_SL_BAD) != 0 ? 0.0 : nsl;
   double sendTp = (bad & KP_STOPS_TP_BAD) != 0 ? 0.0 : ntp;
   string cmt = StringSubstr(comment, 0, KP_COMMENT_MAX);
   int op = buy ? KP_OP_BUY : KP_OP_SELL;
   bool ok = Exec(op, symbol, 0, vol, sendSl, sendTp, cmt, maxSlippage, masterPrice);
   if(!ok && m_class == KP_RC_INVALID_STOPS && (sendSl > 0.0 || sendTp > 0.0))
     {
      sendSl = 0.0;
      sendTp = 0.0;
      ok = Exec(op, symbol, 0, vol, 0.0, 0.0, cmt, maxSlippage, masterPrice);
     }
   if(!ok)
     {
      FailFromResult(e, "open " + side + " " + KpFormatNumber(vol, 8) + " " + symbol);
      return;
     }
   DealDetails(e);
   e.hasProfit = false;
   long positionId = 0;
   if(m_deal > 0 && HistoryDealSelect(m_deal))
      positionId = HistoryDealGetInteger(m_deal, DEAL_POSITION_ID);
   long ticket = KpIsNetting() ? FindPosition("", "", "", symbol) : PositionTicketById(positionId);
   // The position's identifier is its ticket; the order's number never stands in for it.
   if(ticket <= 0)
      ticket = positionId;
   if(ticket <= 0)
     {
      // A deal without a position to show for it yet: the next attempt looks for it by its tag.
      KpExecFail(e, "uncertain", IntegerToString(m_rc), StringFormat("open %s %s %s: deal #%s executed, its position is not visible yet", side, KpFormatNumber(vol, 8), symbol, KpTicketStr((long)m_deal)));
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   if((sendSl != nsl || sendTp != ntp) && ticket > 0)
     {
      // Set what the price allows now; a level still inside the stops level stays unset.
      double setSl = nsl, setTp = ntp;
      if(SymbolInfoTick(symbol, tick))
        {
         int still = KpStopsViolations(buy, tick.bid, tick.ask, nsl, ntp, stopsLevel, point);
         if((still & KP_STOPS_SL_BAD) != 0)
            setSl = 0.0;
         if((still & KP_STOPS_TP_BAD) != 0)
            setTp = 0.0;
        }
      bool set = (setSl > 0.0 || setTp > 0.0)
                 && (KpIsNetting() ? Exec(KP_OP_MODIFY_SYMBOL, symbol, 0, 0, setSl, setTp, "") : Exec(KP_OP_MODIFY_TICKET, symbol, (ulong)ticket, 0, setSl, setTp, ""));
      if(!set)
        {
         setSl = 0.0;
         setTp = 0.0;
        }
      if(setSl != nsl || setTp != ntp)
        {
         e.unprotected = true;
         e.message = StringFormat("opened WITHOUT %s%s%s: inside the broker's stops level (%d points) or refused", setSl != nsl ? "SL " + DoubleToString(nsl, digits) : "",
                                  (setSl != nsl && setTp != ntp) ? " and " : "", setTp != ntp ? "TP " + DoubleToString(ntp, digits) : "", (int)stopsLevel);
        }
      else
         e.message = "opened without SL/TP first (stops level), then set them";
     }
  }

void CKpTrader::Modify(const long ticket, const bool setSl, const double sl, const bool setTp, const double tp, KpExec &e)
  {
   string symbol, side;
   double volume, openPrice, curSl, curTp;
   if(!PositionInfo(ticket, symbol, side, volume, openPrice, curSl, curTp))
     {
      KpExecFail(e, "failed", "position_not_found", "position #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   double nsl = setSl ? (sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0) : curSl;
   double ntp = setTp ? (tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0) : curTp;
   e.ticket = KpTicketStr(ticket);
   if(MathAbs(nsl - curSl) < 1e-10 && MathAbs(ntp - curTp) < 1e-10)
     {
      e.status = "filled";   // nothing to change (a replay, or the levels are already set)
      return;
     }
   if(IsFrozen(ticket))
     {
      KpExecFail(e, "retry", "frozen", "position #" + KpTicketStr(ticket) + " is within the freeze level of its SL/TP; trying again");
      return;
     }
   bool ok = KpIsNetting() ? Exec(KP_OP_MODIFY_SYMBOL, symbol, 0, 0, nsl, ntp, "") : Exec(KP_OP_MODIFY_TICKET, symbol, (ulong)ticket, 0, nsl, ntp, "");
   if(!ok)
     {
      FailFromResult(e, "modify #" + KpTicketStr(ticket));
      return;
     }
   e.status = "filled";
  }

/**
 * Hedging: PositionClosePartial (CTrade: "for hedging mode only"). Netting: a deal for the
 * volume on the other side of the copy (`copySide`, else of the position), with the order's
 * tag as its comment so a replay finds it. Where the net position stands on the copy's side it
 * never takes more than the position holds; where it stands the other way (another copy holds
 * more), the deal adds to it, as the copy's exit must.
 */
void CKpTrader::ClosePartial(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "position #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   // Netting, a copy on the other side of the net position: its whole volume is dealt.
   bool across = KpIsNetting() && copySide != "" && copySide != side;
   double vol = 0;
   if(!KpNormaliseVolume(symbol, across ? volume : MathMin(volume, posVolume), vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   if(IsFrozen(ticket))
     {
      KpExecFail(e, "retry", "frozen", "position #" + KpTicketStr(ticket) + " is within the freeze level of its SL/TP; trying again");
      return;
     }
   m_deviation = deviation;
   bool ok;
   if(KpIsNetting())
      ok = Exec((across ? copySide : side) == "buy" ? KP_OP_SELL : KP_OP_BUY, symbol, 0, vol, 0.0, 0.0, tag);
   else if(vol >= posVolume - 1e-9)
      ok = Exec(KP_OP_CLOSE, symbol, (ulong)ticket, 0, 0, 0, tag);
   else
      ok = Exec(KP_OP_CLOSE_PARTIAL, symbol, (ulong)ticket, vol, 0, 0, tag);
   if(!ok)
     {
      FailFromResult(e, "partial close #" + KpTicketStr(ticket));
      return;
     }
   DealDetails(e);
   e.status = "filled";
   long still = KpIsNetting() ? FindPosition("", "", "", symbol) : ticket;
   e.ticket = KpTicketStr(still > 0 ? still : ticket);
  }

void CKpTrader::Close(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "position #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   if(IsFrozen(ticket))
     {
      KpExecFail(e, "retry", "frozen", "position #" + KpTicketStr(ticket) + " is within the freeze level of its SL/TP; trying again");
      return;
     }
   m_deviation = deviation;
   bool ok;
   // Netting: the net position may also hold other copies; only this copy's volume is dealt,
   // on the other side of the copy — which adds to (or turns) a position standing the other way.
   string dealSide = copySide != "" ? copySide : side;
   bool across = copySide != "" && (copySide != side || volume > posVolume + 1e-9);
   if(KpIsNetting() && volume > 0.0 && (across || volume < posVolume - 1e-9))
     {
      double vol = 0;
      if(!KpNormaliseVolume(symbol, volume, vol, why))
        {
         KpExecFail(e, "rejected", "volume_below_minimum", why);
         return;
        }
      ok = Exec(dealSide == "buy" ? KP_OP_SELL : KP_OP_BUY, symbol, 0, vol, 0.0, 0.0, tag);
     }
   else
      ok = Exec(KP_OP_CLOSE, symbol, (ulong)ticket, 0, 0, 0, tag);
   if(!ok)
     {
      FailFromResult(e, "close #" + KpTicketStr(ticket));
      return;
     }
   DealDetails(e);
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
  }

/** order.command close_all: closes the positions Kopitra manages (its magic or a position tag, kp: or legacy kopitra:). */
int CKpTrader::CloseAllManaged(const string symbolFilter, const int deviation, string &report)
  {
   int closed = 0;
   report = "";
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong t = PositionGetTicket(i);
      if(t == 0)
         continue;
      string symbol = PositionGetString(POSITION_SYMBOL);
      if(symbolFilter != "" && symbol != symbolFilter)
         continue;
      if(PositionGetInteger(POSITION_MAGIC) != m_magic && !KpIsPositionTag(PositionGetString(POSITION_COMMENT)))
         continue;
      KpExec e;
      KpExecReset(e);
      Close((long)t, 0, deviation, "", e);
      if(e.status == "filled")
         closed++;
      else
         report += (report == "" ? "" : "; ") + "#" + KpTicketStr((long)t) + ": " + e.message;
     }
   return closed;
  }

bool CKpTrader::DeletePending(const long ticket, string &why)
  {
   if(ticket <= 0 || !OrderSelect((ulong)ticket))
     {
      why = "no pending order #" + KpTicketStr(ticket);
      return false;
     }
   if(!m_trade.OrderDelete((ulong)ticket))
     {
      why = m_trade.ResultRetcodeDescription();
      return false;
     }
   return true;
  }

//--- pending orders (MT5) --------------------------------------------------------------------

ENUM_ORDER_TYPE KpMt5PendingType(const bool buy, const int kind)
  {
   if(kind == KP_ORDER_LIMIT)
      return buy ? ORDER_TYPE_BUY_LIMIT : ORDER_TYPE_SELL_LIMIT;
   if(kind == KP_ORDER_STOP)
      return buy ? ORDER_TYPE_BUY_STOP : ORDER_TYPE_SELL_STOP;
   return buy ? ORDER_TYPE_BUY_STOP_LIMIT : ORDER_TYPE_SELL_STOP_LIMIT;
  }

/**
 * CTrade::OrderOpen / OrderModify / OrderDelete with the answer classified by
 * KpMt5PendingResult (DONE or PLACED with the order's ticket is success: no deal is made).
 * `op`: 0 place, 1 modify, 2 delete. Pending orders are sent with ORDER_FILLING_RETURN (a
 * limit's unfilled rest stays working); the market-order default is restored after.
 */
bool CKpTrader::SendPending(const int op, const string symbol, const ulong ticket, const ENUM_ORDER_TYPE type, const double volume, const double price,
                            const double stopLimit, const double sl, const double tp, const ENUM_ORDER_TYPE_TIME typeTime, const datetime expiration, const string comment)
  {
   m_slippage = false;
   m_lastErr = 0;
   m_class = KP_RC_FINAL;
   for(int attempt = 0; attempt < 3; attempt++)
     {
      ResetLastError();
      m_trade.SetTypeFilling(ORDER_FILLING_RETURN);
      bool returned = false;
      if(op == 0)
         returned = m_trade.OrderOpen(symbol, type, volume, stopLimit, price, sl, tp, typeTime, expiration, comment);
      else if(op == 1)
         returned = m_trade.OrderModify(ticket, price, sl, tp, typeTime, expiration, stopLimit);
      else
         returned = m_trade.OrderDelete(ticket);
      m_trade.SetTypeFilling(ORDER_FILLING_FOK);
      m_rc = m_trade.ResultRetcode();
      m_deal = 0;
      m_order = m_trade.ResultOrder();
      m_resPrice = m_trade.ResultPrice();
      m_resVolume = m_trade.ResultVolume();
      m_resComment = m_trade.ResultComment();
      m_lastErr = GetLastError();
      m_class = KpMt5PendingResult(returned, m_rc, m_order, op == 0);
      if(m_class == KP_RC_DONE || (m_class == KP_RC_NO_CHANGES && op == 1))
         return true;
      if(m_class != KP_RC_RETRY_NOW)
         return false;
     }
   return false;
  }

void CKpTrader::PlacePending(const string symbol, const string side, const int kind, const double volume, const double price, const double stopLimit,
                             const double sl, const double tp, const long expiresAt, const string comment, bool &eaExpiry, KpExec &e)
  {
   string why;
   eaExpiry = false;
   if(!KpEnsureSymbol(symbol, why))
     {
      KpExecFail(e, "failed", "symbol_unknown", why);
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, volume, vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   MqlTick tick;
   if(!SymbolInfoTick(symbol, tick) || tick.ask <= 0.0 || tick.bid <= 0.0)
     {
      KpExecFail(e, "retry", "no_quote", "no current price for " + symbol + " (market closed or symbol not streaming)");
      return;
     }
   bool buy = (side == "buy");
   double np = NormalizeDouble(price, digits);
   double nsp = (kind == KP_ORDER_STOP_LIMIT && stopLimit > 0.0) ? NormalizeDouble(stopLimit, digits) : 0.0;
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   string what = StringFormat("%s %s %s %s at %s", side, KpOrderKindName(kind), KpFormatNumber(vol, 8), symbol, DoubleToString(np, digits));
   // SYMBOL_TRADE_STOPS_LEVEL: checked here so the refusal names the level.
   long stopsLevel = SymbolInfoInteger(symbol, SYMBOL_TRADE_STOPS_LEVEL);
   int refusal = KpPendingPlacement(buy, kind, np, nsp, nsl, ntp, tick.bid, tick.ask, stopsLevel, point);
   if(refusal != KP_PEND_OK)
     {
      KpRefusePending(e, refusal, what, point > 0.0 ? KpOrderGap(buy, kind, np, tick.bid, tick.ask) / point : 0.0, stopsLevel);
      return;
     }
   int mode = KpExpiryMode(expiresAt, (long)KpNowUtc(), SymbolInfoInteger(symbol, SYMBOL_EXPIRATION_MODE));
   if(mode == KP_EXPIRY_PAST)
     {
      KpExecFail(e, "failed", "expired", StringFormat("the order expired at %s (now %s): not placed", KpIso((datetime)expiresAt), KpNowIso()));
      return;
     }
   ENUM_ORDER_TYPE_TIME typeTime = ORDER_TIME_GTC;
   datetime expiration = 0;
   if(mode == KP_EXPIRY_SPECIFIED)
     {
      typeTime = ORDER_TIME_SPECIFIED;
      expiration = KpUtcToServer((datetime)expiresAt);   // ORDER_TIME_EXPIRATION is the trade server's time
     }
   else if(mode == KP_EXPIRY_DAY)
      typeTime = ORDER_TIME_DAY;
   eaExpiry = (mode == KP_EXPIRY_BY_EA || (mode == KP_EXPIRY_DAY && expiresAt > 0));
   string cmt = StringSubstr(comment, 0, KP_COMMENT_MAX);
   if(!SendPending(0, symbol, 0, KpMt5PendingType(buy, kind), vol, np, nsp, nsl, ntp, typeTime, expiration, cmt))
     {
      FailFromResult(e, "place " + what);
      return;
     }
   e.status = "placed";
   e.ticket = KpTicketStr((long)m_order);
   e.price = np;
   e.volume = vol;
   e.hasPrice = true;
   e.hasVolume = true;
   if(eaExpiry)
      e.message = StringFormat("the broker takes no expiry time for %s: placed %s, the EA deletes it at %s", symbol, mode == KP_EXPIRY_DAY ? "as a day order" : "good till cancelled",
                               KpIso((datetime)expiresAt));
  }

void CKpTrader::ModifyPending(const long ticket, const double price, const double stopLimit, const double sl, const double tp, const long expiresAt,
                              bool &eaExpiry, KpExec &e)
  {
   e.ticket = KpTicketStr(ticket);
   if(ticket <= 0 || !OrderSelect((ulong)ticket))
     {
      KpExecFail(e, "failed", "10035", "no pending order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   string symbol = OrderGetString(ORDER_SYMBOL);
   bool buy = false;
   int kind = KP_ORDER_NONE;
   if(!KpMt5OrderKind(OrderGetInteger(ORDER_TYPE), buy, kind))
     {
      KpExecFail(e, "failed", "10035", "order #" + KpTicketStr(ticket) + " is not a pending order");
      return;
     }
   double current = OrderGetDouble(ORDER_PRICE_OPEN);
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   MqlTick tick;
   if(!SymbolInfoTick(symbol, tick) || tick.ask <= 0.0 || tick.bid <= 0.0)
     {
      KpExecFail(e, "retry", "no_quote", "no current price for " + symbol);
      return;
     }
   string what = StringFormat("modify order #%s to %s", KpTicketStr(ticket), DoubleToString(price, digits));
   // SYMBOL_TRADE_FREEZE_LEVEL: an order this near the market may not be changed.
   long freeze = SymbolInfoInteger(symbol, SYMBOL_TRADE_FREEZE_LEVEL);
   if(KpPendingFrozen(buy, kind, current, tick.bid, tick.ask, freeze, point))
     {
      KpRefusePending(e, KP_PEND_FROZEN, what, point > 0.0 ? KpOrderGap(buy, kind, current, tick.bid, tick.ask) / point : 0.0, freeze);
      return;
     }
   double np = NormalizeDouble(price, digits);
   double nsp = (kind == KP_ORDER_STOP_LIMIT && stopLimit > 0.0) ? NormalizeDouble(stopLimit, digits) : OrderGetDouble(ORDER_PRICE_STOPLIMIT);
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   long stopsLevel = SymbolInfoInteger(symbol, SYMBOL_TRADE_STOPS_LEVEL);
   int refusal = KpPendingPlacement(buy, kind, np, nsp, nsl, ntp, tick.bid, tick.ask, stopsLevel, point);
   if(refusal != KP_PEND_OK)
     {
      KpRefusePending(e, refusal, what, point > 0.0 ? KpOrderGap(buy, kind, np, tick.bid, tick.ask) / point : 0.0, stopsLevel);
      e.ticket = KpTicketStr(ticket);
      return;
     }
   int mode = KpExpiryMode(expiresAt, (long)KpNowUtc(), SymbolInfoInteger(symbol, SYMBOL_EXPIRATION_MODE));
   if(mode == KP_EXPIRY_PAST)
     {
      KpExecFail(e, "failed", "expired", StringFormat("the new expiry %s has passed: order #%s left as it is", KpIso((datetime)expiresAt), KpTicketStr(ticket)));
      return;
     }
   ENUM_ORDER_TYPE_TIME typeTime = ORDER_TIME_GTC;
   datetime expiration = 0;
   if(mode == KP_EXPIRY_SPECIFIED)
     {
      typeTime = ORDER_TIME_SPECIFIED;
      expiration = KpUtcToServer((datetime)expiresAt);
     }
   else if(mode == KP_EXPIRY_DAY)
      typeTime = ORDER_TIME_DAY;
   eaExpiry = (mode == KP_EXPIRY_BY_EA || (mode == KP_EXPIRY_DAY && expiresAt > 0));
   if(!SendPending(1, symbol, (ulong)ticket, KpMt5PendingType(buy, kind), 0.0, np, nsp, nsl, ntp, typeTime, expiration, ""))
     {
      FailFromResult(e, what);
      e.ticket = KpTicketStr(ticket);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   e.price = np;
   e.hasPrice = true;
  }

void CKpTrader::RemovePending(const long ticket, KpExec &e)
  {
   e.ticket = KpTicketStr(ticket);
   if(ticket <= 0 || !OrderSelect((ulong)ticket))
     {
      KpExecFail(e, "failed", "10035", "no pending order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   string symbol = OrderGetString(ORDER_SYMBOL);
   bool buy = false;
   int kind = KP_ORDER_NONE;
   MqlTick tick;
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   long freeze = SymbolInfoInteger(symbol, SYMBOL_TRADE_FREEZE_LEVEL);
   double current = OrderGetDouble(ORDER_PRICE_OPEN);
   if(KpMt5OrderKind(OrderGetInteger(ORDER_TYPE), buy, kind) && SymbolInfoTick(symbol, tick) && KpPendingFrozen(buy, kind, current, tick.bid, tick.ask, freeze, point))
     {
      // Temporary: the price may move away (or the order fills, which the fill watch reports).
      KpExecFail(e, "retry", "10029", StringFormat("order #%s is within the freeze level (%I64d points) of the market; deleting it later", KpTicketStr(ticket), freeze));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   if(!SendPending(2, symbol, (ulong)ticket, ORDER_TYPE_BUY_LIMIT, 0.0, 0.0, 0.0, 0.0, 0.0, ORDER_TIME_GTC, 0, ""))
     {
      FailFromResult(e, "delete order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
  }

/** A pending order by ticket, else the one carrying this tag as its comment. */
long CKpTrader::FindPendingOrder(const string ticketStr, const string tag, const string symbol)
  {
   long t = StringToInteger(ticketStr);
   if(t > 0 && OrderSelect((ulong)t))
      return t;
   string want = StringSubstr(tag, 0, KP_COMMENT_MAX);
   if(want == "")
      return 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      ulong o = OrderGetTicket(i);   // selects the order
      if(o == 0)
         continue;
      if(symbol != "" && OrderGetString(ORDER_SYMBOL) != symbol)
         continue;
      if(OrderGetString(ORDER_COMMENT) == want)
         return (long)o;
     }
   return 0;
  }

bool CKpTrader::PendingLive(const long ticket)
  {
   return ticket > 0 && OrderSelect((ulong)ticket);
  }

/**
 * What became of a pending order no longer working (KP_OHIST_*): filled — `position` the
 * position it went into (ORDER_POSITION_ID; the open position's ticket when it is still open)
 * and `volume` what was filled — cancelled, expired, or not in the history (yet).
 */
int CKpTrader::PendingHistory(const long ticket, long &position, double &volume)
  {
   position = 0;
   volume = 0.0;
   if(ticket <= 0 || !HistoryOrderSelect((ulong)ticket))
      return KP_OHIST_NONE;
   int h = KpMt5OrderHistory(HistoryOrderGetInteger((ulong)ticket, ORDER_STATE));
   if(h != KP_OHIST_FILLED)
      return h;
   long positionId = HistoryOrderGetInteger((ulong)ticket, ORDER_POSITION_ID);
   long open = PositionTicketById(positionId);
   position = open > 0 ? open : positionId;
   volume = HistoryOrderGetDouble((ulong)ticket, ORDER_VOLUME_INITIAL) - HistoryOrderGetDouble((ulong)ticket, ORDER_VOLUME_CURRENT);
   return h;
  }

/** The broker's expiry of a working order (server time), 0 when it has none (GTC, or a day order). */
datetime CKpTrader::PendingExpiration(const long ticket)
  {
   if(ticket <= 0 || !OrderSelect((ulong)ticket))
      return 0;
   long typeTime = OrderGetInteger(ORDER_TYPE_TIME);
   if(typeTime != ORDER_TIME_SPECIFIED && typeTime != ORDER_TIME_SPECIFIED_DAY)
      return 0;
   return (datetime)OrderGetInteger(ORDER_TIME_EXPIRATION);
  }

/** A pending order of the last week carrying this tag that filled (placed before a restart, filled since): its ticket, else 0. */
long CKpTrader::FindFilledOrder(const string tag, const string symbol)
  {
   string want = StringSubstr(tag, 0, KP_COMMENT_MAX);
   datetime now = TimeTradeServer();
   if(want == "" || !HistorySelect(now - 7 * 86400, now + 60))
      return 0;
   for(int i = HistoryOrdersTotal() - 1; i >= 0; i--)
     {
      ulong o = HistoryOrderGetTicket(i);
      if(o == 0 || HistoryOrderGetString(o, ORDER_COMMENT) != want)
         continue;
      if(symbol != "" && HistoryOrderGetString(o, ORDER_SYMBOL) != symbol)
         continue;
      bool buy = false;
      int kind = KP_ORDER_NONE;
      if(KpMt5OrderKind(HistoryOrderGetInteger(o, ORDER_TYPE), buy, kind) && KpMt5OrderHistory(HistoryOrderGetInteger(o, ORDER_STATE)) == KP_OHIST_FILLED)
         return (long)o;
     }
   return 0;
  }

//====================================================================
#else // __MQL4__
//====================================================================

bool CKpTrader::WaitContext(void)
  {
   // One trade operation at a time per terminal: https://docs.mql4.com/trading/istradecontextbusy
   for(int i = 0; i < 100 && IsTradeContextBusy(); i++)
      Sleep(50);
   RefreshRates();
   return !IsTradeContextBusy();
  }

double CKpTrader::ClosePrice(const string symbol, const int type)
  {
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   return NormalizeDouble(type == OP_BUY ? MarketInfo(symbol, MODE_BID) : MarketInfo(symbol, MODE_ASK), digits);
  }

string CKpTrader::ErrorText(const int code)
  {
   if(code == ERR_NO_RESULT)           return "no result (nothing changed)";
   if(code == ERR_INVALID_STOPS)       return "invalid stops";
   if(code == ERR_INVALID_TRADE_VOLUME) return "invalid volume";
   if(code == ERR_MARKET_CLOSED)       return "market closed";
   if(code == ERR_TRADE_DISABLED)      return "trade disabled";
   if(code == ERR_NOT_ENOUGH_MONEY)    return "not enough money";
   if(code == ERR_PRICE_CHANGED)       return "price changed";
   if(code == ERR_OFF_QUOTES)          return "off quotes";
   if(code == ERR_REQUOTE)             return "requote";
   if(code == ERR_TRADE_CONTEXT_BUSY)  return "trade context busy";
   if(code == ERR_TRADE_TOO_MANY_ORDERS) return "too many orders";
   if(code == ERR_INVALID_TICKET)      return "invalid ticket";
   if(code == ERR_TRADE_NOT_ALLOWED)   return "trading not allowed (AutoTrading / 'Allow live trading')";
   return "error " + IntegerToString(code);
  }

/** After a partial close MT4 gives the rest a new ticket: its comment is "from #<old>", the closed part's "to #<new>". */
long CKpTrader::FindRest(const long ticket)
  {
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      if(KpCommentRef(OrderComment(), "from #") == ticket)
         return OrderTicket();
     }
   if(OrderSelect((int)ticket, SELECT_BY_TICKET))
     {
      long next = KpCommentRef(OrderComment(), "to #");
      if(next > 0 && OrderSelect((int)next, SELECT_BY_TICKET) && OrderCloseTime() == 0)
         return next;
     }
   return 0;
  }

long CKpTrader::FindPosition(const string ticketStr, const string tag, const string masterPositionId, const string symbol)
  {
   long t = StringToInteger(ticketStr);
   // Follow "to #" links: the gateway may still know the ticket from before a partial close.
   for(int hop = 0; t > 0 && hop < 10; hop++)
     {
      if(!OrderSelect((int)t, SELECT_BY_TICKET))
         break;
      if(OrderCloseTime() == 0)
         return (OrderType() == OP_BUY || OrderType() == OP_SELL) ? t : 0;
      t = KpCommentRef(OrderComment(), "to #");
     }
   if(tag == "" && masterPositionId == "")
      return 0;
   // The group's tag, or a legacy tag only one open order has (see the MT5 FindPosition).
   long legacy = 0;
   int legacyCount = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      if(OrderType() != OP_BUY && OrderType() != OP_SELL)
         continue;
      if(symbol != "" && OrderSymbol() != symbol)
         continue;
      int m = KpTagMatch(OrderComment(), tag, masterPositionId);
      if(m == KP_TAG_EXACT)
         return OrderTicket();
      if(m == KP_TAG_LEGACY)
        {
         legacy = OrderTicket();
         legacyCount++;
        }
     }
   return legacyCount == 1 ? legacy : 0;
  }

/**
 * Every open market order carrying this master position's tag, newest first (a copy the master
 * added to holds several). The rest of a partial close has the comment "from #<old>": it is
 * the copy's when the order it came from carried the tag.
 */
int CKpTrader::TaggedPositions(const string tag, const string masterPositionId, const string symbol, long &tickets[])
  {
   long times[], open[], opened[];
   string comments[];
   ArrayResize(tickets, 0);
   ArrayResize(times, 0);
   int n = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || (OrderType() != OP_BUY && OrderType() != OP_SELL))
         continue;
      if(symbol != "" && OrderSymbol() != symbol)
         continue;
      ArrayResize(open, n + 1);
      ArrayResize(opened, n + 1);
      ArrayResize(comments, n + 1);
      open[n] = OrderTicket();
      opened[n] = (long)OrderOpenTime();
      comments[n] = OrderComment();
      n++;
     }
   for(int k = 0; k < n; k++)
     {
      string comment = comments[k];
      for(int hop = 0; hop < 10 && !KpCopyTagged(comment, tag, masterPositionId); hop++)
        {
         long from = KpCommentRef(comment, "from #");
         if(from <= 0 || !OrderSelect((int)from, SELECT_BY_TICKET))
            break;
         comment = OrderComment();
        }
      if(KpCopyTagged(comment, tag, masterPositionId))
         KpInsertNewestFirst(tickets, times, open[k], opened[k]);
     }
   return ArraySize(tickets);
  }

bool CKpTrader::PositionInfo(const long ticket, string &symbol, string &side, double &volume, double &openPrice, double &sl, double &tp)
  {
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0)
      return false;
   if(OrderType() != OP_BUY && OrderType() != OP_SELL)
      return false;
   symbol = OrderSymbol();
   side = OrderType() == OP_BUY ? "buy" : "sell";
   volume = OrderLots();
   openPrice = OrderOpenPrice();
   sl = OrderStopLoss();
   tp = OrderTakeProfit();
   return true;
  }

/** An open order carrying `tag` as its comment (MT4 accounts hedge: the order itself is the evidence). */
/** MT4 has no exchange execution: an order is never answered PLACED. */
int CKpTrader::PlacedOrderDecision(const long order, const int attempts, long &state)
  {
   state = -1;
   return KP_PLACED_UNKNOWN;
  }

bool CKpTrader::FindRecentOpen(const string tag, const string symbol, KpExec &e)
  {
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || (OrderType() != OP_BUY && OrderType() != OP_SELL))
         continue;
      if(OrderComment() != tag || (symbol != "" && OrderSymbol() != symbol))
         continue;
      e.status = "filled";
      e.ticket = KpTicketStr(OrderTicket());
      e.price = OrderOpenPrice();
      e.volume = OrderLots();
      e.hasPrice = true;
      e.hasVolume = true;
      e.message = "found the order of an open interrupted by a restart; not opened twice";
      return true;
     }
   return false;
  }

/** MT4 close deals carry no comment of ours; whether a close happened is told by the order itself. */
bool CKpTrader::FindTaggedDeal(const string tag, const string symbol, KpExec &e)
  {
   return false;
  }

/** MODE_FREEZELEVEL: the server refuses to modify or close an order this close to its SL/TP. */
bool CKpTrader::IsFrozen(const long ticket)
  {
   if(!OrderSelect((int)ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0)
      return false;
   string symbol = OrderSymbol();
   return KpFrozen(OrderType() == OP_BUY, MarketInfo(symbol, MODE_BID), MarketInfo(symbol, MODE_ASK), OrderStopLoss(), OrderTakeProfit(),
                   (long)MarketInfo(symbol, MODE_FREEZELEVEL), MarketInfo(symbol, MODE_POINT));
  }

void CKpTrader::Open(const string symbol, const string side, const double volume, const double sl, const double tp, const string comment, const long maxSlippage, const double masterPrice, KpExec &e)
  {
   string why;
   if(!KpEnsureSymbol(symbol, why))
     {
      KpExecFail(e, "failed", "symbol_unknown", why);
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, volume, vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   double point = MarketInfo(symbol, MODE_POINT);
   int cmd = (side == "buy") ? OP_BUY : OP_SELL;
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   string cmt = StringSubstr(comment, 0, KP_COMMENT_MAX);
   int deviation = Deviation(maxSlippage);
   m_deviation = deviation;
   m_slippage = false;
   m_class = KP_RC_FINAL;
   m_lastErr = 0;
   long stopsLevel = (long)MarketInfo(symbol, MODE_STOPLEVEL);
   // MODE_STOPLEVEL: a level closer to the price is refused (130); it is left out and set afterwards.
   int bad = KpStopsViolations(cmd == OP_BUY, MarketInfo(symbol, MODE_BID), MarketInfo(symbol, MODE_ASK), nsl, ntp, stopsLevel, point);
   double sendSl = (bad & KP_STOPS_SL_BAD) != 0 ? 0.0 : nsl;
   double sendTp = (bad & KP_STOPS_TP_BAD) != 0 ? 0.0 : ntp;
   int ticket = -1;
   for(int attempt = 0; attempt < 4 && ticket < 0; attempt++)
     {
      if(!WaitContext())
        {
         m_lastErr = ERR_TRADE_CONTEXT_BUSY;
         m_class = KP_RC_RETRY_LATER;
         break;
        }
      // "market orders must use the latest Bid (sell) / Ask (buy); calculated or unnormalized price cannot be applied"
      double ask = MarketInfo(symbol, MODE_ASK);
      double bid = MarketInfo(symbol, MODE_BID);
      double price = NormalizeDouble(cmd == OP_BUY ? ask : bid, digits);
      if(price <= 0.0)
        {
         KpExecFail(e, "retry", "no_quote", "no current price for " + symbol);
         return;
        }
      // Before every attempt: a requote must not fill beyond maxSlippage either.
      if(KpSlippageExceeded(cmd == OP_BUY, masterPrice, ask, bid, point, maxSlippage))
        {
         m_slippage = true;
         m_adverse = KpAdversePoints(cmd == OP_BUY, masterPrice, ask, bid, point);
         break;
        }
      ResetLastError();
      ticket = OrderSend(symbol, cmd, vol, price, deviation, sendSl, sendTp, cmt, m_magic, 0, clrNONE);
      if(ticket >= 0)
         break;
      m_lastErr = GetLastError();
      m_class = KpClassifyMt4(m_lastErr);
      if(m_class == KP_RC_INVALID_STOPS && (sendSl > 0.0 || sendTp > 0.0))
        {
         sendSl = 0.0;   // ECN/market execution: open without stops, set them afterwards
         sendTp = 0.0;
         continue;
        }
      if(m_class == KP_RC_RETRY_NOW)
         continue;
      if(m_class == KP_RC_UNCERTAIN)
        {
         // 128 trade timeout: the order may exist. Look before anything else happens.
         KpExec found;
         KpExecReset(found);
         if(FindRecentOpen(cmt, symbol, found))
           {
            ticket = (int)StringToInteger(found.ticket);
            break;
           }
        }
      break;
     }
   if(ticket < 0)
     {
      FailFromResult(e, "OrderSend " + side + " " + KpFormatNumber(vol, 8) + " " + symbol);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   if(OrderSelect(ticket, SELECT_BY_TICKET))
     {
      e.price = OrderOpenPrice();
      e.volume = OrderLots();
      e.hasPrice = true;
      e.hasVolume = true;
     }
   if(sendSl != nsl || sendTp != ntp)
     {
      RefreshRates();
      int still = KpStopsViolations(cmd == OP_BUY, MarketInfo(symbol, MODE_BID), MarketInfo(symbol, MODE_ASK), nsl, ntp, stopsLevel, point);
      double setSl = (still & KP_STOPS_SL_BAD) != 0 ? sendSl : nsl;
      double setTp = (still & KP_STOPS_TP_BAD) != 0 ? sendTp : ntp;
      bool set = (setSl != sendSl || setTp != sendTp) && WaitContext() && OrderModify(ticket, e.price, setSl, setTp, 0, clrNONE);
      if(!set)
        {
         setSl = sendSl;
         setTp = sendTp;
        }
      if(setSl != nsl || setTp != ntp)
        {
         e.unprotected = true;
         e.message = StringFormat("opened WITHOUT %s%s%s: inside the broker's stops level (%d points) or refused", setSl != nsl ? "SL " + DoubleToString(nsl, digits) : "",
                                  (setSl != nsl && setTp != ntp) ? " and " : "", setTp != ntp ? "TP " + DoubleToString(ntp, digits) : "", (int)stopsLevel);
        }
      else
         e.message = "opened without SL/TP first (stops level), then set them";
     }
  }

void CKpTrader::Modify(const long ticket, const bool setSl, const double sl, const bool setTp, const double tp, KpExec &e)
  {
   string symbol, side;
   double volume, openPrice, curSl, curTp;
   if(!PositionInfo(ticket, symbol, side, volume, openPrice, curSl, curTp))
     {
      KpExecFail(e, "failed", "position_not_found", "order #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   double nsl = setSl ? (sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0) : curSl;
   double ntp = setTp ? (tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0) : curTp;
   e.ticket = KpTicketStr(ticket);
   if(MathAbs(nsl - curSl) < 1e-10 && MathAbs(ntp - curTp) < 1e-10)
     {
      e.status = "filled";   // OrderModify with unchanged values would fail with error 1 (ERR_NO_RESULT)
      return;
     }
   if(IsFrozen(ticket))
     {
      KpExecFail(e, "retry", "frozen", "order #" + KpTicketStr(ticket) + " is within the freeze level of its SL/TP; trying again");
      return;
     }
   m_slippage = false;
   ResetLastError();
   if(!WaitContext())
     {
      m_lastErr = ERR_TRADE_CONTEXT_BUSY;
      m_class = KP_RC_RETRY_LATER;
      FailFromResult(e, "OrderModify #" + KpTicketStr(ticket));
      return;
     }
   if(!OrderModify((int)ticket, openPrice, nsl, ntp, 0, clrNONE))
     {
      m_lastErr = GetLastError();
      m_class = KpClassifyMt4(m_lastErr);
      if(m_class == KP_RC_NO_CHANGES)
        {
         e.status = "filled";
         return;
        }
      FailFromResult(e, "OrderModify #" + KpTicketStr(ticket));
      return;
     }
   e.status = "filled";
  }

void CKpTrader::ClosePartial(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "order #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   // Netting, a copy on the other side of the net position: its whole volume is dealt.
   bool across = KpIsNetting() && copySide != "" && copySide != side;
   double vol = 0;
   if(!KpNormaliseVolume(symbol, across ? volume : MathMin(volume, posVolume), vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   Close(ticket, vol, deviation, tag, e);
   if(e.status != "filled" || vol >= posVolume - 1e-9)
      return;
   // The rest continues under a new ticket: report it so the gateway's link follows.
   long rest = FindRest(ticket);
   if(rest > 0)
     {
      e.previousTicket = KpTicketStr(ticket);
      e.ticket = KpTicketStr(rest);
     }
   else
      e.message = "partially closed; the new ticket of the rest was not found yet (the next sync snapshot will show it)";
  }

void CKpTrader::Close(const long ticket, const double volume, const int deviation, const string tag, KpExec &e, const string copySide)
  {
   string symbol, side;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "order #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   if(IsFrozen(ticket))
     {
      KpExecFail(e, "retry", "frozen", "order #" + KpTicketStr(ticket) + " is within the freeze level of its SL/TP; trying again");
      return;
     }
   double lots = (volume > 0.0 && volume < posVolume) ? volume : posVolume;
   int type = (side == "buy") ? OP_BUY : OP_SELL;
   bool ok = false;
   m_slippage = false;
   m_lastErr = 0;
   m_class = KP_RC_FINAL;
   for(int attempt = 0; attempt < 4 && !ok; attempt++)
     {
      if(!WaitContext())
        {
         m_lastErr = ERR_TRADE_CONTEXT_BUSY;
         m_class = KP_RC_RETRY_LATER;
         break;
        }
      ResetLastError();
      ok = OrderClose((int)ticket, lots, ClosePrice(symbol, type), deviation, clrNONE);
      if(ok)
         break;
      m_lastErr = GetLastError();
      m_class = KpClassifyMt4(m_lastErr);
      if(m_class == KP_RC_UNCERTAIN && OrderSelect((int)ticket, SELECT_BY_TICKET) && OrderCloseTime() != 0)
        {
         ok = true;   // 128 trade timeout, but the order is closed
         break;
        }
      if(m_class != KP_RC_RETRY_NOW)
         break;
     }
   if(!ok)
     {
      FailFromResult(e, "OrderClose #" + KpTicketStr(ticket));
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   e.volume = lots;
   e.hasVolume = true;
   if(OrderSelect((int)ticket, SELECT_BY_TICKET))
     {
      e.price = OrderClosePrice();
      e.hasPrice = e.price > 0.0;
      e.profit = OrderProfit() + OrderSwap() + OrderCommission();
      e.hasProfit = true;
     }
  }

int CKpTrader::CloseAllManaged(const string symbolFilter, const int deviation, string &report)
  {
   int closed = 0;
   report = "";
   long tickets[];
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      if(OrderType() != OP_BUY && OrderType() != OP_SELL)
         continue;
      if(symbolFilter != "" && OrderSymbol() != symbolFilter)
         continue;
      if(OrderMagicNumber() != m_magic && !KpIsPositionTag(OrderComment()))
         continue;
      KpPush(tickets, (long)OrderTicket());
     }
   for(int i = 0; i < ArraySize(tickets); i++)
     {
      KpExec e;
      KpExecReset(e);
      Close(tickets[i], 0, deviation, "", e);
      if(e.status == "filled")
         closed++;
      else
         report += (report == "" ? "" : "; ") + "#" + KpTicketStr(tickets[i]) + ": " + e.message;
     }
   return closed;
  }

bool CKpTrader::DeletePending(const long ticket, string &why)
  {
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0 || OrderType() == OP_BUY || OrderType() == OP_SELL)
     {
      why = "no pending order #" + KpTicketStr(ticket);
      return false;
     }
   if(!WaitContext() || !OrderDelete((int)ticket, clrNONE))
     {
      why = ErrorText(GetLastError());
      return false;
     }
   return true;
  }

//--- pending orders (MT4) --------------------------------------------------------------------

int KpMt4PendingCmd(const bool buy, const int kind)
  {
   if(kind == KP_ORDER_LIMIT)
      return buy ? OP_BUYLIMIT : OP_SELLLIMIT;
   return buy ? OP_BUYSTOP : OP_SELLSTOP;
  }

void CKpTrader::PlacePending(const string symbol, const string side, const int kind, const double volume, const double price, const double stopLimit,
                             const double sl, const double tp, const long expiresAt, const string comment, bool &eaExpiry, KpExec &e)
  {
   string why;
   eaExpiry = false;
   if(kind == KP_ORDER_STOP_LIMIT)
     {
      KpExecFail(e, "failed", "order_type_unsupported", "MetaTrader 4 has no stop-limit orders; nothing was placed");
      return;
     }
   if(!KpEnsureSymbol(symbol, why))
     {
      KpExecFail(e, "failed", "symbol_unknown", why);
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, volume, vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   double point = MarketInfo(symbol, MODE_POINT);
   RefreshRates();
   double bid = MarketInfo(symbol, MODE_BID);
   double ask = MarketInfo(symbol, MODE_ASK);
   if(bid <= 0.0 || ask <= 0.0)
     {
      KpExecFail(e, "retry", "no_quote", "no current price for " + symbol);
      return;
     }
   bool buy = (side == "buy");
   double np = NormalizeDouble(price, digits);
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   string what = StringFormat("%s %s %s %s at %s", side, KpOrderKindName(kind), KpFormatNumber(vol, 8), symbol, DoubleToString(np, digits));
   // MODE_STOPLEVEL: checked here so the refusal names the level (the server would answer 130).
   long stopsLevel = (long)MarketInfo(symbol, MODE_STOPLEVEL);
   int refusal = KpPendingPlacement(buy, kind, np, 0.0, nsl, ntp, bid, ask, stopsLevel, point);
   if(refusal != KP_PEND_OK)
     {
      KpRefusePending(e, refusal, what, point > 0.0 ? KpOrderGap(buy, kind, np, bid, ask) / point : 0.0, stopsLevel);
      return;
     }
   // MT4 reports no expiration modes: the expiry is sent, and a broker that refuses it (147
   // ERR_TRADE_EXPIRATION_DENIED) gets a good-till-cancelled order the EA deletes at expiry.
   int mode = KpExpiryMode(expiresAt, (long)KpNowUtc(), 0);
   if(mode == KP_EXPIRY_PAST)
     {
      KpExecFail(e, "failed", "expired", StringFormat("the order expired at %s (now %s): not placed", KpIso((datetime)expiresAt), KpNowIso()));
      return;
     }
   datetime expiration = 0;
   if(mode == KP_EXPIRY_SPECIFIED)
      expiration = KpUtcToServer((datetime)expiresAt);
   string cmt = StringSubstr(comment, 0, KP_COMMENT_MAX);
   int cmd = KpMt4PendingCmd(buy, kind);
   m_slippage = false;
   m_class = KP_RC_FINAL;
   m_lastErr = 0;
   int ticket = -1;
   for(int attempt = 0; attempt < 4 && ticket < 0; attempt++)
     {
      if(!WaitContext())
        {
         m_lastErr = ERR_TRADE_CONTEXT_BUSY;
         m_class = KP_RC_RETRY_LATER;
         break;
        }
      ResetLastError();
      ticket = OrderSend(symbol, cmd, vol, np, 0, nsl, ntp, cmt, m_magic, expiration, clrNONE);
      if(ticket >= 0)
         break;
      m_lastErr = GetLastError();
      m_class = KpClassifyMt4(m_lastErr);
      if(m_lastErr == ERR_TRADE_EXPIRATION_DENIED && expiration != 0)
        {
         expiration = 0;
         eaExpiry = true;
         continue;
        }
      if(m_class != KP_RC_RETRY_NOW)
         break;
     }
   if(ticket < 0)
     {
      eaExpiry = false;
      FailFromResult(e, "place " + what);
      return;
     }
   e.status = "placed";
   e.ticket = KpTicketStr(ticket);
   e.price = np;
   e.volume = vol;
   e.hasPrice = true;
   e.hasVolume = true;
   if(eaExpiry)
      e.message = StringFormat("the broker takes no expiry time (147): placed good till cancelled, the EA deletes it at %s", KpIso((datetime)expiresAt));
  }

void CKpTrader::ModifyPending(const long ticket, const double price, const double stopLimit, const double sl, const double tp, const long expiresAt,
                              bool &eaExpiry, KpExec &e)
  {
   bool buy = false;
   int kind = KP_ORDER_NONE;
   e.ticket = KpTicketStr(ticket);
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0 || !KpMt4OrderKind(OrderType(), buy, kind))
     {
      KpExecFail(e, "failed", IntegerToString(ERR_INVALID_TICKET), "no pending order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   string symbol = OrderSymbol();
   double current = OrderOpenPrice();
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   double point = MarketInfo(symbol, MODE_POINT);
   RefreshRates();
   double bid = MarketInfo(symbol, MODE_BID);
   double ask = MarketInfo(symbol, MODE_ASK);
   string what = StringFormat("modify order #%s to %s", KpTicketStr(ticket), DoubleToString(price, digits));
   // MODE_FREEZELEVEL: an order this near the market may not be changed (145).
   long freeze = (long)MarketInfo(symbol, MODE_FREEZELEVEL);
   if(KpPendingFrozen(buy, kind, current, bid, ask, freeze, point))
     {
      KpRefusePending(e, KP_PEND_FROZEN, what, point > 0.0 ? KpOrderGap(buy, kind, current, bid, ask) / point : 0.0, freeze);
      e.ticket = KpTicketStr(ticket);
      return;
     }
   double np = NormalizeDouble(price, digits);
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   long stopsLevel = (long)MarketInfo(symbol, MODE_STOPLEVEL);
   int refusal = KpPendingPlacement(buy, kind, np, 0.0, nsl, ntp, bid, ask, stopsLevel, point);
   if(refusal != KP_PEND_OK)
     {
      KpRefusePending(e, refusal, what, point > 0.0 ? KpOrderGap(buy, kind, np, bid, ask) / point : 0.0, stopsLevel);
      e.ticket = KpTicketStr(ticket);
      return;
     }
   int mode = KpExpiryMode(expiresAt, (long)KpNowUtc(), 0);
   if(mode == KP_EXPIRY_PAST)
     {
      KpExecFail(e, "failed", "expired", StringFormat("the new expiry %s has passed: order #%s left as it is", KpIso((datetime)expiresAt), KpTicketStr(ticket)));
      return;
     }
   datetime expiration = 0;
   if(mode == KP_EXPIRY_SPECIFIED && !eaExpiry)
      expiration = KpUtcToServer((datetime)expiresAt);
   eaExpiry = eaExpiry && expiresAt > 0;
   m_class = KP_RC_FINAL;
   m_lastErr = 0;
   bool ok = false;
   for(int attempt = 0; attempt < 4 && !ok; attempt++)
     {
      if(!WaitContext())
        {
         m_lastErr = ERR_TRADE_CONTEXT_BUSY;
         m_class = KP_RC_RETRY_LATER;
         break;
        }
      ResetLastError();
      ok = OrderModify((int)ticket, np, nsl, ntp, expiration, clrNONE);
      if(ok)
         break;
      m_lastErr = GetLastError();
      m_class = KpClassifyMt4(m_lastErr);
      if(m_class == KP_RC_NO_CHANGES)
        {
         ok = true;
         break;
        }
      if(m_lastErr == ERR_TRADE_EXPIRATION_DENIED && expiration != 0)
        {
         expiration = 0;
         eaExpiry = true;
         continue;
        }
      if(m_class != KP_RC_RETRY_NOW)
         break;
     }
   if(!ok)
     {
      FailFromResult(e, what);
      e.ticket = KpTicketStr(ticket);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   e.price = np;
   e.hasPrice = true;
  }

void CKpTrader::RemovePending(const long ticket, KpExec &e)
  {
   bool buy = false;
   int kind = KP_ORDER_NONE;
   e.ticket = KpTicketStr(ticket);
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0 || !KpMt4OrderKind(OrderType(), buy, kind))
     {
      KpExecFail(e, "failed", IntegerToString(ERR_INVALID_TICKET), "no pending order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   string symbol = OrderSymbol();
   double current = OrderOpenPrice();
   double point = MarketInfo(symbol, MODE_POINT);
   long freeze = (long)MarketInfo(symbol, MODE_FREEZELEVEL);
   RefreshRates();
   if(KpPendingFrozen(buy, kind, current, MarketInfo(symbol, MODE_BID), MarketInfo(symbol, MODE_ASK), freeze, point))
     {
      KpExecFail(e, "retry", "145", StringFormat("order #%s is within the freeze level (%I64d points) of the market; deleting it later", KpTicketStr(ticket), freeze));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   m_class = KP_RC_FINAL;
   m_lastErr = 0;
   bool ok = false;
   if(!WaitContext())
     {
      m_lastErr = ERR_TRADE_CONTEXT_BUSY;
      m_class = KP_RC_RETRY_LATER;
     }
   else
     {
      ResetLastError();
      ok = OrderDelete((int)ticket, clrNONE);
      if(!ok)
        {
         m_lastErr = GetLastError();
         m_class = KpClassifyMt4(m_lastErr);
        }
     }
   if(!ok)
     {
      FailFromResult(e, "delete order #" + KpTicketStr(ticket));
      e.ticket = KpTicketStr(ticket);
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
  }

/** A working pending order by ticket, else the one whose comment starts with this tag. */
long CKpTrader::FindPendingOrder(const string ticketStr, const string tag, const string symbol)
  {
   bool buy = false;
   int kind = KP_ORDER_NONE;
   long t = StringToInteger(ticketStr);
   if(t > 0 && OrderSelect((int)t, SELECT_BY_TICKET) && OrderCloseTime() == 0 && KpMt4OrderKind(OrderType(), buy, kind))
      return t;
   string want = StringSubstr(tag, 0, KP_COMMENT_MAX);
   if(want == "")
      return 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || !KpMt4OrderKind(OrderType(), buy, kind))
         continue;
      if(symbol != "" && OrderSymbol() != symbol)
         continue;
      if(StringFind(OrderComment(), want) == 0)
         return OrderTicket();
     }
   return 0;
  }

bool CKpTrader::PendingLive(const long ticket)
  {
   bool buy = false;
   int kind = KP_ORDER_NONE;
   return ticket > 0 && OrderSelect((int)ticket, SELECT_BY_TICKET) && OrderCloseTime() == 0 && KpMt4OrderKind(OrderType(), buy, kind);
  }

/** MT4: a filled pending order keeps its ticket and becomes OP_BUY / OP_SELL (open, or closed since). */
int CKpTrader::PendingHistory(const long ticket, long &position, double &volume)
  {
   position = 0;
   volume = 0.0;
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET))
      return KP_OHIST_NONE;
   bool market = (OrderType() == OP_BUY || OrderType() == OP_SELL);
   int h = KpMt4OrderHistory(OrderCloseTime() != 0, market, (long)OrderCloseTime(), (long)OrderExpiration());
   if(h == KP_OHIST_FILLED)
     {
      position = ticket;
      volume = OrderLots();
     }
   return h;
  }

datetime CKpTrader::PendingExpiration(const long ticket)
  {
   if(ticket <= 0 || !OrderSelect((int)ticket, SELECT_BY_TICKET))
      return 0;
   return OrderExpiration();
  }

/** MT4: a filled pending order keeps its ticket and comment: the open market order with the tag is that order. */
long CKpTrader::FindFilledOrder(const string tag, const string symbol)
  {
   return FindPosition("", tag, "", symbol);
  }

#endif

#endif // KOPITRA_TRADE_MQH
