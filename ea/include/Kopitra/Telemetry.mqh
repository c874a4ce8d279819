//+------------------------------------------------------------------+
//| Kopitra/Telemetry.mqh — inbox events about the terminal            |
//| ea.init, ea.heartbeat, ea.status_summary, ea.autotrade_status,     |
//| ea.symbol_catalog, ea.sync_snapshot (shapes: ea/testdata/*.json)   |
//+------------------------------------------------------------------+
#ifndef KOPITRA_TELEMETRY_MQH
#define KOPITRA_TELEMETRY_MQH

#include "Common.mqh"
#include "Json.mqh"
#include "Time.mqh"

/** AutoTrading button, "Allow live trading" of this EA, and the account's permissions. */
bool KpTradingAllowed()
  {
   return TerminalInfoInteger(TERMINAL_TRADE_ALLOWED) != 0
          && MQLInfoInteger(MQL_TRADE_ALLOWED) != 0
          && AccountInfoInteger(ACCOUNT_TRADE_ALLOWED) != 0
          && AccountInfoInteger(ACCOUNT_TRADE_EXPERT) != 0;
  }

/** "netting" | "hedging" | "exchange" (ACCOUNT_MARGIN_MODE, https://www.mql5.com/en/docs/constants/environment_state/accountinformation). MT4 is always hedging. */
string KpMarginMode()
  {
#ifdef __MQL5__
   ENUM_ACCOUNT_MARGIN_MODE mode = (ENUM_ACCOUNT_MARGIN_MODE)AccountInfoInteger(ACCOUNT_MARGIN_MODE);
   if(mode == ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
      return "netting";
   if(mode == ACCOUNT_MARGIN_MODE_EXCHANGE)
      return "exchange";
#endif
   return "hedging";
  }

bool KpIsNetting()
  {
   return KpMarginMode() != "hedging";
  }

int KpOpenPositionCount()
  {
#ifdef __MQL5__
   return PositionsTotal();
#else
   int n = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
      if(OrderSelect(i, SELECT_BY_POS, MODE_TRADES) && (OrderType() == OP_BUY || OrderType() == OP_SELL))
         n++;
   return n;
#endif
  }

int KpPendingOrderCount()
  {
#ifdef __MQL5__
   return OrdersTotal();
#else
   int n = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--)
      if(OrderSelect(i, SELECT_BY_POS, MODE_TRADES) && OrderType() != OP_BUY && OrderType() != OP_SELL)
         n++;
   return n;
#endif
  }

void KpWriteInit(CKpJsonWriter &w)
  {
   w.BeginObject();
   w.Str("eventType", "ea.init");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.Str("eaVersion", KP_EA_VERSION);
   w.Int("terminalBuild", TerminalInfoInteger(TERMINAL_BUILD));
   w.Str("accountCurrency", StringSubstr(AccountInfoString(ACCOUNT_CURRENCY), 0, 8));
   w.Str("accountName", StringSubstr(AccountInfoString(ACCOUNT_NAME), 0, 128));
   long leverage = AccountInfoInteger(ACCOUNT_LEVERAGE);
   if(leverage > 0)
      w.Int("leverage", leverage);
   w.Str("marginMode", KpMarginMode());
   w.Bool("tradeAllowed", KpTradingAllowed());
   w.EndObject();
   w.EndObject();
  }

void KpWriteHeartbeat(CKpJsonWriter &w, const uint latencyMs)
  {
   w.BeginObject();
   w.Str("eventType", "ea.heartbeat");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.Num("balance", AccountInfoDouble(ACCOUNT_BALANCE), 2);
   w.Num("equity", AccountInfoDouble(ACCOUNT_EQUITY), 2);
   w.Num("margin", MathMax(0.0, AccountInfoDouble(ACCOUNT_MARGIN)), 2);
   w.Num("freeMargin", AccountInfoDouble(ACCOUNT_MARGIN_FREE), 2);
   w.Int("openPositions", KpOpenPositionCount());
   w.Int("latencyMs", (long)latencyMs);
   // Risk-limit days, weeks and months start at the broker's midnight: the server needs the
   // trade server's offset from UTC. Left out until it is known (MT4 before its first quote).
   int offset = KpServerUtcOffset();
   if(g_kpServerOffset != -1)
      w.Int("serverUtcOffsetSec", offset);
   w.EndObject();
   w.EndObject();
  }

void KpWriteStatusSummary(CKpJsonWriter &w, const string state, const int queued, const string lastError)
  {
   w.BeginObject();
   w.Str("eventType", "ea.status_summary");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.Str("state", StringSubstr(state, 0, 64));
   w.Int("openPositions", KpOpenPositionCount());
   w.Int("pendingOrders", KpPendingOrderCount());
   if(lastError != "")
      w.Str("lastError", StringSubstr(lastError, 0, 1024));
   w.Int("queuedRequests", queued);
   w.Str("platform", KP_PLATFORM);
   w.Str("eaVersion", KP_EA_VERSION);
   w.EndObject();
   w.EndObject();
  }

void KpWriteAutotrade(CKpJsonWriter &w, const bool enabled)
  {
   w.BeginObject();
   w.Str("eventType", "ea.autotrade_status");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.Bool("enabled", enabled);
   w.EndObject();
   w.EndObject();
  }

void KpWriteError(CKpJsonWriter &w, const string code, const string message)
  {
   w.BeginObject();
   w.Str("eventType", "ea.error");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   if(code != "")
      w.Str("code", code);
   w.Str("message", StringSubstr(message, 0, 2048));
   w.EndObject();
   w.EndObject();
  }

/** SYMBOL_TRADE_MODE → the catalog's tradeMode. */
string KpTradeModeName(const string symbol)
  {
   ENUM_SYMBOL_TRADE_MODE m = (ENUM_SYMBOL_TRADE_MODE)SymbolInfoInteger(symbol, SYMBOL_TRADE_MODE);
   if(m == SYMBOL_TRADE_MODE_DISABLED)  return "disabled";
   if(m == SYMBOL_TRADE_MODE_LONGONLY)  return "long_only";
   if(m == SYMBOL_TRADE_MODE_SHORTONLY) return "short_only";
   if(m == SYMBOL_TRADE_MODE_CLOSEONLY) return "close_only";
   return "full";
  }

/**
 * Writes one symbol spec; returns false (and writes nothing) when the terminal reports a zero
 * size/step for it — the gateway's schema requires positive values and would refuse the whole batch.
 */
bool KpWriteSymbolSpec(CKpJsonWriter &w, const string symbol)
  {
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   double point = SymbolInfoDouble(symbol, SYMBOL_POINT);
   double tickSize = SymbolInfoDouble(symbol, SYMBOL_TRADE_TICK_SIZE);
   double tickValue = SymbolInfoDouble(symbol, SYMBOL_TRADE_TICK_VALUE);
   double contract = SymbolInfoDouble(symbol, SYMBOL_TRADE_CONTRACT_SIZE);
   double vmin = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MIN);
   double vmax = SymbolInfoDouble(symbol, SYMBOL_VOLUME_MAX);
   double vstep = SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP);
   if(tickSize <= 0.0)
      tickSize = point;
   if(StringLen(symbol) < 1 || StringLen(symbol) > 64 || digits < 0 || digits > 10 || point <= 0.0 || tickSize <= 0.0 || contract <= 0.0 || vmin <= 0.0 || vmax <= 0.0 || vstep <= 0.0)
      return false;
   w.BeginObject();
   w.Str("symbol", symbol);
   w.Int("digits", digits);
   w.Num("point", point, 10);
   w.Num("tickSize", tickSize, 10);
   w.Num("tickValue", MathMax(0.0, tickValue), 10);
   w.Num("contractSize", contract, 8);
   w.Num("volumeMin", vmin, 8);
   w.Num("volumeMax", vmax, 8);
   w.Num("volumeStep", vstep, 8);
   w.Str("tradeMode", KpTradeModeName(symbol));
   w.EndObject();
   return true;
  }

/**
 * ea.symbol_catalog: the Market Watch symbols (SymbolsTotal(true)). The gateway REPLACES the
 * catalog with every event, so it cannot be split over several requests: keep Market Watch to
 * the symbols you trade (a full broker list can exceed the gateway's 1 MB body limit).
 */
string KpBuildCatalogBody(const int maxSymbols, int &written)
  {
   CKpJsonWriter w;
   w.BeginObject();
   w.BeginArray("events");
   w.BeginObject();
   w.Str("eventType", "ea.symbol_catalog");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.BeginArray("symbols");
   written = 0;
   int total = SymbolsTotal(true);
   for(int i = 0; i < total && written < maxSymbols; i++)
     {
      string symbol = SymbolName(i, true);
      if(KpWriteSymbolSpec(w, symbol))
         written++;
     }
   if(total > maxSymbols)
      KpLog(StringFormat("Market Watch lists %d symbols; the catalog sends the first %d (input CatalogMaxSymbols)", total, maxSymbols));
   w.EndArray();
   w.EndObject();
   w.EndObject();
   w.EndArray();
   w.EndObject();
   return w.Text();
  }

#ifdef __MQL5__
/** ORDER_TYPE of a pending order on the wire's terms; false for market orders. */
bool KpMt5OrderKind(const long type, bool &buy, int &kind)
  {
   buy = (type == ORDER_TYPE_BUY_LIMIT || type == ORDER_TYPE_BUY_STOP || type == ORDER_TYPE_BUY_STOP_LIMIT);
   if(type == ORDER_TYPE_BUY_LIMIT || type == ORDER_TYPE_SELL_LIMIT)
      kind = KP_ORDER_LIMIT;
   else if(type == ORDER_TYPE_BUY_STOP || type == ORDER_TYPE_SELL_STOP)
      kind = KP_ORDER_STOP;
   else if(type == ORDER_TYPE_BUY_STOP_LIMIT || type == ORDER_TYPE_SELL_STOP_LIMIT)
      kind = KP_ORDER_STOP_LIMIT;
   else
      return false;
   return true;
  }
#else
/** OrderType() of a pending order on the wire's terms; false for market orders (MT4 has no stop-limit orders). */
bool KpMt4OrderKind(const int type, bool &buy, int &kind)
  {
   buy = (type == OP_BUYLIMIT || type == OP_BUYSTOP);
   if(type == OP_BUYLIMIT || type == OP_SELLLIMIT)
      kind = KP_ORDER_LIMIT;
   else if(type == OP_BUYSTOP || type == OP_SELLSTOP)
      kind = KP_ORDER_STOP;
   else
      return false;
   return true;
  }
#endif

/** ea.sync_snapshot: every open position and pending order (untagged ones too — the gateway never touches those). */
string KpBuildSnapshotBody(int &count)
  {
   CKpJsonWriter w;
   w.BeginObject();
   w.BeginArray("events");
   w.BeginObject();
   w.Str("eventType", "ea.sync_snapshot");
   w.Str("occurredAt", KpNowIso());
   w.BeginObject("payload");
   w.BeginArray("positions");
   count = 0;
#ifdef __MQL5__
   for(int i = 0; i < PositionsTotal(); i++)
     {
      ulong ticket = PositionGetTicket(i);   // selects the position
      if(ticket == 0)
         continue;
      string symbol = PositionGetString(POSITION_SYMBOL);
      int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
      double volume = PositionGetDouble(POSITION_VOLUME);
      if(volume <= 0.0)
         continue;
      w.BeginObject();
      w.Str("ticket", KpTicketStr((long)ticket));
      w.Str("symbol", symbol);
      w.Str("side", PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? "buy" : "sell");
      w.Num("volume", volume, 8);
      w.Num("openPrice", PositionGetDouble(POSITION_PRICE_OPEN), digits);
      w.Level("sl", PositionGetDouble(POSITION_SL), digits);
      w.Level("tp", PositionGetDouble(POSITION_TP), digits);
      w.Str("comment", StringSubstr(PositionGetString(POSITION_COMMENT), 0, 64));
      w.Str("magic", KpMagicString(PositionGetInteger(POSITION_MAGIC), true));
      w.EndObject();
      count++;
     }
#else
   for(int i = 0; i < OrdersTotal(); i++)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES))
         continue;
      if(OrderType() != OP_BUY && OrderType() != OP_SELL)
         continue;
      int digits = (int)SymbolInfoInteger(OrderSymbol(), SYMBOL_DIGITS);
      w.BeginObject();
      w.Str("ticket", KpTicketStr(OrderTicket()));
      w.Str("symbol", OrderSymbol());
      w.Str("side", OrderType() == OP_BUY ? "buy" : "sell");
      w.Num("volume", OrderLots(), 8);
      w.Num("openPrice", OrderOpenPrice(), digits);
      w.Level("sl", OrderStopLoss(), digits);
      w.Level("tp", OrderTakeProfit(), digits);
      w.Str("comment", StringSubstr(OrderComment(), 0, 64));
      w.Str("magic", KpMagicString(OrderMagicNumber(), false));
      w.EndObject();
      count++;
     }
#endif
   w.EndArray();
   // The pending orders too (every one, like the positions): the gateway matches its copies by ticket and tag.
   w.BeginArray("orders");
   for(int i = 0; i < OrdersTotal(); i++)
     {
      bool buy = false;
      int kind = KP_ORDER_NONE;
#ifdef __MQL5__
      ulong ticket = OrderGetTicket(i);   // selects the order
      if(ticket == 0 || !KpMt5OrderKind(OrderGetInteger(ORDER_TYPE), buy, kind))
         continue;
      string symbol = OrderGetString(ORDER_SYMBOL);
      double volume = OrderGetDouble(ORDER_VOLUME_CURRENT);
      double price = OrderGetDouble(ORDER_PRICE_OPEN);
      double stopLimit = OrderGetDouble(ORDER_PRICE_STOPLIMIT);
      double sl = OrderGetDouble(ORDER_SL);
      double tp = OrderGetDouble(ORDER_TP);
      long typeTime = OrderGetInteger(ORDER_TYPE_TIME);
      datetime expiration = 0;
      if(typeTime == ORDER_TIME_SPECIFIED || typeTime == ORDER_TIME_SPECIFIED_DAY)
         expiration = (datetime)OrderGetInteger(ORDER_TIME_EXPIRATION);
      string comment = OrderGetString(ORDER_COMMENT);
      string magic = KpMagicString(OrderGetInteger(ORDER_MAGIC), true);
#else
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || !KpMt4OrderKind(OrderType(), buy, kind))
         continue;
      long ticket = OrderTicket();
      string symbol = OrderSymbol();
      double volume = OrderLots();
      double price = OrderOpenPrice();
      double stopLimit = 0.0;
      double sl = OrderStopLoss();
      double tp = OrderTakeProfit();
      datetime expiration = OrderExpiration();
      string comment = OrderComment();
      string magic = KpMagicString(OrderMagicNumber(), false);
#endif
      if(volume <= 0.0)
         continue;
      int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
      w.BeginObject();
      w.Str("ticket", KpTicketStr((long)ticket));
      w.Str("symbol", symbol);
      w.Str("side", buy ? "buy" : "sell");
      w.Str("orderType", KpOrderKindName(kind));
      w.Num("volume", volume, 8);
      w.Num("price", price, digits);
      if(kind == KP_ORDER_STOP_LIMIT)
         w.Level("stopLimitPrice", stopLimit, digits);
      w.Level("sl", sl, digits);
      w.Level("tp", tp, digits);
      if(expiration > 0)
         w.Str("expiresAt", KpIso(KpServerToUtc(expiration)));
      else
         w.Null("expiresAt");
      w.Str("comment", StringSubstr(comment, 0, 64));
      w.Str("magic", magic);
      w.EndObject();
     }
   w.EndArray();
   w.EndObject();
   w.EndObject();
   w.EndArray();
   w.EndObject();
   return w.Text();
  }

#endif // KOPITRA_TELEMETRY_MQH
