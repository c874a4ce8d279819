//+------------------------------------------------------------------+
//| Kopitra/Trade.mqh — the follower's trade primitives                |
//|                                                                    |
//| MT5: CTrade (https://www.mql5.com/en/docs/standardlibrary/tradeclasses/ctrade)
//| MT4: OrderSend / OrderModify / OrderClose                          |
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
   string            status;          // filled | rejected | failed
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
  }

void KpExecFail(KpExec &e, const string status, const string code, const string message)
  {
   e.status = status;
   e.errorCode = code;
   e.message = message;
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
#ifdef __MQL5__
   CTrade            m_trade;
   bool              Exec(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment);
   int               FillingCandidates(const string symbol, ENUM_ORDER_TYPE_FILLING &out[]);
   void              DealDetails(KpExec &e);
   long              PositionTicketById(const long positionId);
   void              FailFromResult(KpExec &e, const string what);
#else
   bool              WaitContext(void);
   double            ClosePrice(const string symbol, const int type);
   long              FindRest(const long ticket);
   string            ErrorText(const int code);
#endif

public:
                     CKpTrader(void) { m_magic = 0; m_defaultDeviation = 30; }
   void              Setup(const int magic, const int defaultDeviation);
   int               Deviation(const long maxSlippage) { return maxSlippage >= 0 ? (int)maxSlippage : m_defaultDeviation; }
   long              FindPosition(const string ticketStr, const string masterPositionId, const string symbol);
   bool              PositionInfo(const long ticket, string &symbol, string &side, double &volume, double &openPrice, double &sl, double &tp);
   void              Open(const string symbol, const string side, const double volume, const double sl, const double tp, const string comment, const long maxSlippage, const double masterPrice, KpExec &e);
   void              Modify(const long ticket, const bool setSl, const double sl, const bool setTp, const double tp, KpExec &e);
   void              ClosePartial(const long ticket, const double volume, const int deviation, KpExec &e);
   void              Close(const long ticket, const double volume, const int deviation, KpExec &e);
   int               CloseAllManaged(const string symbolFilter, const int deviation, string &report);
   bool              DeletePending(const long ticket, string &why);
   bool              FindRecentOpen(const string tag, const string symbol, KpExec &e);
  };

void CKpTrader::Setup(const int magic, const int defaultDeviation)
  {
   m_magic = magic;
   m_defaultDeviation = defaultDeviation;
#ifdef __MQL5__
   m_trade.SetExpertMagicNumber((ulong)magic);
   m_trade.SetDeviationInPoints((ulong)defaultDeviation);
   m_trade.SetAsyncMode(false);       // the result must be known before the report
   m_trade.SetMarginMode();           // reads ACCOUNT_MARGIN_MODE
   m_trade.LogLevel(LOG_LEVEL_ERRORS);
#endif
  }

//====================================================================
#ifdef __MQL5__
//====================================================================

/**
 * SYMBOL_FILLING_MODE is a BITMASK of SYMBOL_FILLING_FOK (1) / SYMBOL_FILLING_IOC (2); the request
 * wants an ENUM_ORDER_TYPE_FILLING value — never compare one to the other
 * (https://www.mql5.com/en/docs/constants/environment_state/marketinfoconstants#symbol_filling_mode).
 * Neither flag set means only ORDER_FILLING_RETURN is allowed. RETURN stays the last fallback for
 * a 10030 INVALID_FILL answer.
 */
int CKpTrader::FillingCandidates(const string symbol, ENUM_ORDER_TYPE_FILLING &out[])
  {
   long mask = SymbolInfoInteger(symbol, SYMBOL_FILLING_MODE);
   ArrayResize(out, 0);
   int n = 0;
   if((mask & SYMBOL_FILLING_FOK) == SYMBOL_FILLING_FOK)
     {
      ArrayResize(out, n + 1);
      out[n++] = ORDER_FILLING_FOK;
     }
   if((mask & SYMBOL_FILLING_IOC) == SYMBOL_FILLING_IOC)
     {
      ArrayResize(out, n + 1);
      out[n++] = ORDER_FILLING_IOC;
     }
   ArrayResize(out, n + 1);
   out[n++] = ORDER_FILLING_RETURN;
   return n;
  }

/**
 * Sends one operation, retrying on requotes and, for 10030 INVALID_FILL, with the next allowed
 * filling mode. "Successful completion of the PositionOpen(...) method does not always mean
 * successful execution" — the retcode decides
 * (https://www.mql5.com/en/docs/standardlibrary/tradeclasses/ctrade/ctradepositionopen).
 */
bool CKpTrader::Exec(const int op, const string symbol, const ulong ticket, const double volume, const double sl, const double tp, const string comment)
  {
   ENUM_ORDER_TYPE_FILLING fills[];
   int nf = FillingCandidates(symbol, fills);
   int fi = 0;
   for(int attempt = 0; attempt < 4; attempt++)
     {
      m_trade.SetTypeFilling(fills[fi]);
      ResetLastError();
      if(op == KP_OP_BUY)
         m_trade.Buy(volume, symbol, 0.0, sl, tp, comment);          // price 0 → current Ask
      else if(op == KP_OP_SELL)
         m_trade.Sell(volume, symbol, 0.0, sl, tp, comment);         // price 0 → current Bid
      else if(op == KP_OP_CLOSE)
         m_trade.PositionClose(ticket);
      else if(op == KP_OP_CLOSE_PARTIAL)
         m_trade.PositionClosePartial(ticket, volume);                // hedging accounts only
      else if(op == KP_OP_MODIFY_TICKET)
         m_trade.PositionModify(ticket, sl, tp);
      else if(op == KP_OP_MODIFY_SYMBOL)
         m_trade.PositionModify(symbol, sl, tp);
      uint rc = m_trade.ResultRetcode();
      if(rc == TRADE_RETCODE_DONE || rc == TRADE_RETCODE_DONE_PARTIAL || rc == TRADE_RETCODE_PLACED)
         return true;
      if(rc == TRADE_RETCODE_NO_CHANGES && (op == KP_OP_MODIFY_TICKET || op == KP_OP_MODIFY_SYMBOL))
         return true;
      if(rc == TRADE_RETCODE_INVALID_FILL && fi + 1 < nf)
        {
         fi++;
         continue;
        }
      if(rc == TRADE_RETCODE_REQUOTE || rc == TRADE_RETCODE_PRICE_CHANGED || rc == TRADE_RETCODE_PRICE_OFF)
         continue;   // CTrade takes a fresh price on the next call (price 0 / position close)
      return false;
     }
   return false;
  }

void CKpTrader::FailFromResult(KpExec &e, const string what)
  {
   uint rc = m_trade.ResultRetcode();
   int err = GetLastError();
   e.status = "rejected";
   e.errorCode = IntegerToString(rc != 0 ? (long)rc : (long)err);
   e.message = StringFormat("%s: %s%s", what, m_trade.ResultRetcodeDescription(), m_trade.ResultComment() != "" ? " (" + m_trade.ResultComment() + ")" : "");
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
   ulong deal = m_trade.ResultDeal();
   e.price = m_trade.ResultPrice();
   e.volume = m_trade.ResultVolume();
   if(deal > 0 && HistoryDealSelect(deal))
     {
      e.price = HistoryDealGetDouble(deal, DEAL_PRICE);
      e.volume = HistoryDealGetDouble(deal, DEAL_VOLUME);
      long entry = HistoryDealGetInteger(deal, DEAL_ENTRY);
      if(entry != DEAL_ENTRY_IN)
        {
         e.profit = HistoryDealGetDouble(deal, DEAL_PROFIT) + HistoryDealGetDouble(deal, DEAL_SWAP) + HistoryDealGetDouble(deal, DEAL_COMMISSION);
         e.hasProfit = true;
        }
     }
   e.hasPrice = e.price > 0.0;
   e.hasVolume = e.volume > 0.0;
  }

long CKpTrader::FindPosition(const string ticketStr, const string masterPositionId, const string symbol)
  {
   if(KpIsNetting())
     {
      // One position per symbol: every copy on this symbol lives in it.
      if(symbol != "" && PositionSelect(symbol))
         return PositionGetInteger(POSITION_TICKET);
      return 0;
     }
   long t = StringToInteger(ticketStr);
   if(t > 0 && PositionSelectByTicket((ulong)t))
      return t;
   if(masterPositionId == "")
      return 0;
   // After a restart (or before the fill was reported) the comment tag kopitra:<masterPositionId> finds it.
   for(int i = PositionsTotal() - 1; i >= 0; i--)
     {
      ulong pt = PositionGetTicket(i);
      if(pt == 0)
         continue;
      if(symbol != "" && PositionGetString(POSITION_SYMBOL) != symbol)
         continue;
      if(KpTagMatches(PositionGetString(POSITION_COMMENT), masterPositionId))
         return (long)pt;
     }
   return 0;
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

/** Netting recovery after a crash mid-open: a deal in the last hour carrying the tag means it executed. */
bool CKpTrader::FindRecentOpen(const string tag, const string symbol, KpExec &e)
  {
   datetime now = TimeTradeServer();
   if(!HistorySelect(now - 3600, now + 60))
      return false;
   for(int i = HistoryDealsTotal() - 1; i >= 0; i--)
     {
      ulong d = HistoryDealGetTicket(i);
      if(d == 0 || HistoryDealGetString(d, DEAL_SYMBOL) != symbol || HistoryDealGetString(d, DEAL_COMMENT) != tag)
         continue;
      e.status = "filled";
      e.price = HistoryDealGetDouble(d, DEAL_PRICE);
      e.volume = HistoryDealGetDouble(d, DEAL_VOLUME);
      e.hasPrice = true;
      e.hasVolume = true;
      long t = FindPosition("", "", symbol);
      e.ticket = t > 0 ? KpTicketStr(t) : KpTicketStr(HistoryDealGetInteger(d, DEAL_POSITION_ID));
      e.message = "found the deal of an open interrupted by a restart; not opened twice";
      return true;
     }
   return false;
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
      KpExecFail(e, "failed", "no_quote", "no current price for " + symbol + " (market closed or symbol not streaming)");
      return;
     }
   // maxSlippage: the largest adverse distance, in points, from the master's price.
   if(maxSlippage >= 0 && masterPrice > 0.0 && point > 0.0)
     {
      double adverse = (side == "buy") ? tick.ask - masterPrice : masterPrice - tick.bid;
      double points = adverse / point;
      if(points > (double)maxSlippage + 1e-6)
        {
         KpExecFail(e, "rejected", "slippage_exceeded", StringFormat("price moved %.1f points against the master's %s (max %d)", points, DoubleToString(masterPrice, digits), (int)maxSlippage));
         return;
        }
     }
   m_trade.SetDeviationInPoints((ulong)Deviation(maxSlippage));
   double nsl = sl > 0.0 ? NormalizeDouble(sl, digits) : 0.0;
   double ntp = tp > 0.0 ? NormalizeDouble(tp, digits) : 0.0;
   string cmt = StringSubstr(comment, 0, KP_COMMENT_MAX);
   int op = (side == "buy") ? KP_OP_BUY : KP_OP_SELL;
   bool ok = Exec(op, symbol, 0, vol, nsl, ntp, cmt);
   bool deferredStops = false;
   if(!ok && m_trade.ResultRetcode() == TRADE_RETCODE_INVALID_STOPS && (nsl > 0.0 || ntp > 0.0))
     {
      // Stops too close for this broker right now: open without them, then try to set them.
      ok = Exec(op, symbol, 0, vol, 0.0, 0.0, cmt);
      deferredStops = ok;
     }
   if(!ok)
     {
      FailFromResult(e, "open " + side + " " + KpFormatNumber(vol, 8) + " " + symbol);
      return;
     }
   DealDetails(e);
   e.hasProfit = false;
   ulong deal = m_trade.ResultDeal();
   long positionId = 0;
   if(deal > 0 && HistoryDealSelect(deal))
      positionId = HistoryDealGetInteger(deal, DEAL_POSITION_ID);
   long ticket = KpIsNetting() ? FindPosition("", "", symbol) : PositionTicketById(positionId);
   if(ticket <= 0)
      ticket = positionId > 0 ? positionId : (long)m_trade.ResultOrder();
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
   if(deferredStops && ticket > 0)
     {
      bool set = KpIsNetting() ? Exec(KP_OP_MODIFY_SYMBOL, symbol, 0, 0, nsl, ntp, "") : Exec(KP_OP_MODIFY_TICKET, symbol, (ulong)ticket, 0, nsl, ntp, "");
      e.message = set ? "opened without SL/TP first (invalid stops), then set them" : "opened, but SL/TP could not be set: " + m_trade.ResultRetcodeDescription();
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
   bool ok = KpIsNetting() ? Exec(KP_OP_MODIFY_SYMBOL, symbol, 0, 0, nsl, ntp, "") : Exec(KP_OP_MODIFY_TICKET, symbol, (ulong)ticket, 0, nsl, ntp, "");
   if(!ok)
     {
      FailFromResult(e, "modify #" + KpTicketStr(ticket));
      return;
     }
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
  }

/**
 * Hedging: PositionClosePartial (CTrade: "for hedging mode only"). Netting: an opposite deal for
 * the volume, never more than the position holds (more would reverse it).
 */
void CKpTrader::ClosePartial(const long ticket, const double volume, const int deviation, KpExec &e)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "position #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, MathMin(volume, posVolume), vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   m_trade.SetDeviationInPoints((ulong)deviation);
   bool ok;
   if(KpIsNetting())
      ok = Exec(side == "buy" ? KP_OP_SELL : KP_OP_BUY, symbol, 0, vol, 0.0, 0.0, "kopitra:close");
   else if(vol >= posVolume - 1e-9)
      ok = Exec(KP_OP_CLOSE, symbol, (ulong)ticket, 0, 0, 0, "");
   else
      ok = Exec(KP_OP_CLOSE_PARTIAL, symbol, (ulong)ticket, vol, 0, 0, "");
   if(!ok)
     {
      FailFromResult(e, "partial close #" + KpTicketStr(ticket));
      return;
     }
   DealDetails(e);
   e.status = "filled";
   long still = KpIsNetting() ? FindPosition("", "", symbol) : ticket;
   e.ticket = KpTicketStr(still > 0 ? still : ticket);
  }

void CKpTrader::Close(const long ticket, const double volume, const int deviation, KpExec &e)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "position #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   m_trade.SetDeviationInPoints((ulong)deviation);
   bool ok;
   if(KpIsNetting() && volume > 0.0 && volume < posVolume - 1e-9)
     {
      // Netting: the net position may also hold other copies; take off this copy's volume only.
      double vol = 0;
      if(!KpNormaliseVolume(symbol, volume, vol, why))
        {
         KpExecFail(e, "rejected", "volume_below_minimum", why);
         return;
        }
      ok = Exec(side == "buy" ? KP_OP_SELL : KP_OP_BUY, symbol, 0, vol, 0.0, 0.0, "kopitra:close");
     }
   else
      ok = Exec(KP_OP_CLOSE, symbol, (ulong)ticket, 0, 0, 0, "");
   if(!ok)
     {
      FailFromResult(e, "close #" + KpTicketStr(ticket));
      return;
     }
   DealDetails(e);
   e.status = "filled";
   e.ticket = KpTicketStr(ticket);
  }

/** order.command close_all: closes the positions Kopitra manages (its magic or a kopitra: tag). */
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
      if(PositionGetInteger(POSITION_MAGIC) != m_magic && StringFind(PositionGetString(POSITION_COMMENT), KP_TAG_PREFIX) != 0)
         continue;
      KpExec e;
      KpExecReset(e);
      Close((long)t, 0, deviation, e);
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

long CKpTrader::FindPosition(const string ticketStr, const string masterPositionId, const string symbol)
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
   if(masterPositionId == "")
      return 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      if(OrderType() != OP_BUY && OrderType() != OP_SELL)
         continue;
      if(symbol != "" && OrderSymbol() != symbol)
         continue;
      if(KpTagMatches(OrderComment(), masterPositionId))
         return OrderTicket();
     }
   return 0;
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

bool CKpTrader::FindRecentOpen(const string tag, const string symbol, KpExec &e)
  {
   return false;   // MT4 accounts hedge: FindPosition by tag covers recovery
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
   int ticket = -1;
   int err = 0;
   bool deferredStops = false;
   for(int attempt = 0; attempt < 4 && ticket < 0; attempt++)
     {
      if(!WaitContext())
        {
         err = ERR_TRADE_CONTEXT_BUSY;
         break;
        }
      // "market orders must use the latest Bid (sell) / Ask (buy); calculated or unnormalized price cannot be applied"
      double price = NormalizeDouble(cmd == OP_BUY ? MarketInfo(symbol, MODE_ASK) : MarketInfo(symbol, MODE_BID), digits);
      if(price <= 0.0)
        {
         KpExecFail(e, "failed", "no_quote", "no current price for " + symbol);
         return;
        }
      if(attempt == 0 && maxSlippage >= 0 && masterPrice > 0.0 && point > 0.0)
        {
         double adverse = (cmd == OP_BUY) ? price - masterPrice : masterPrice - price;
         if(adverse / point > (double)maxSlippage + 1e-6)
           {
            KpExecFail(e, "rejected", "slippage_exceeded", StringFormat("price moved %.1f points against the master's %s (max %d)", adverse / point, DoubleToString(masterPrice, digits), (int)maxSlippage));
            return;
           }
        }
      ResetLastError();
      ticket = OrderSend(symbol, cmd, vol, price, deviation, deferredStops ? 0.0 : nsl, deferredStops ? 0.0 : ntp, cmt, m_magic, 0, clrNONE);
      if(ticket >= 0)
         break;
      err = GetLastError();
      if(err == ERR_INVALID_STOPS && (nsl > 0.0 || ntp > 0.0) && !deferredStops)
        {
         deferredStops = true;   // ECN/market execution: open without stops, set them afterwards
         continue;
        }
      if(err == ERR_REQUOTE || err == ERR_PRICE_CHANGED || err == ERR_OFF_QUOTES || err == ERR_TRADE_CONTEXT_BUSY || err == ERR_BROKER_BUSY)
         continue;
      break;
     }
   if(ticket < 0)
     {
      KpExecFail(e, "rejected", IntegerToString(err), "OrderSend " + side + " " + KpFormatNumber(vol, 8) + " " + symbol + ": " + ErrorText(err));
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
   if(deferredStops)
     {
      bool set = WaitContext() && OrderModify(ticket, e.price, nsl, ntp, 0, clrNONE);
      e.message = set ? "opened without SL/TP first (invalid stops), then set them" : "opened, but SL/TP could not be set: " + ErrorText(GetLastError());
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
   ResetLastError();
   if(!WaitContext() || !OrderModify((int)ticket, openPrice, nsl, ntp, 0, clrNONE))
     {
      int err = GetLastError();
      if(err == ERR_NO_RESULT)
        {
         e.status = "filled";
         return;
        }
      KpExecFail(e, "rejected", IntegerToString(err), "OrderModify #" + KpTicketStr(ticket) + ": " + ErrorText(err));
      return;
     }
   e.status = "filled";
  }

void CKpTrader::ClosePartial(const long ticket, const double volume, const int deviation, KpExec &e)
  {
   string symbol, side, why;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "order #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   double vol = 0;
   if(!KpNormaliseVolume(symbol, MathMin(volume, posVolume), vol, why))
     {
      KpExecFail(e, "rejected", "volume_below_minimum", why);
      return;
     }
   Close(ticket, vol, deviation, e);
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

void CKpTrader::Close(const long ticket, const double volume, const int deviation, KpExec &e)
  {
   string symbol, side;
   double posVolume, openPrice, sl, tp;
   if(!PositionInfo(ticket, symbol, side, posVolume, openPrice, sl, tp))
     {
      KpExecFail(e, "failed", "position_not_found", "order #" + KpTicketStr(ticket) + " is not open");
      return;
     }
   double lots = (volume > 0.0 && volume < posVolume) ? volume : posVolume;
   int type = (side == "buy") ? OP_BUY : OP_SELL;
   bool ok = false;
   int err = 0;
   for(int attempt = 0; attempt < 4 && !ok; attempt++)
     {
      if(!WaitContext())
        {
         err = ERR_TRADE_CONTEXT_BUSY;
         break;
        }
      ResetLastError();
      ok = OrderClose((int)ticket, lots, ClosePrice(symbol, type), deviation, clrNONE);
      if(ok)
         break;
      err = GetLastError();
      if(err != ERR_REQUOTE && err != ERR_PRICE_CHANGED && err != ERR_OFF_QUOTES && err != ERR_TRADE_CONTEXT_BUSY && err != ERR_BROKER_BUSY)
         break;
     }
   if(!ok)
     {
      KpExecFail(e, "rejected", IntegerToString(err), "OrderClose #" + KpTicketStr(ticket) + ": " + ErrorText(err));
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
      if(OrderMagicNumber() != m_magic && StringFind(OrderComment(), KP_TAG_PREFIX) != 0)
         continue;
      KpPush(tickets, (long)OrderTicket());
     }
   for(int i = 0; i < ArraySize(tickets); i++)
     {
      KpExec e;
      KpExecReset(e);
      Close(tickets[i], 0, deviation, e);
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

#endif

#endif // KOPITRA_TRADE_MQH
