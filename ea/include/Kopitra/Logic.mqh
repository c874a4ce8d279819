//+------------------------------------------------------------------+
//| Kopitra/Logic.mqh — the EA's decisions, free of terminal calls    |
//|                                                                    |
//| Everything here is written in the part of MQL that is also C++:   |
//| no arrays passed by reference, no terminal or trade functions, no |
//| classes or pointers, numbers instead of terminal enum names. The  |
//| repository compiles this very file with g++ (ea/test) and checks  |
//| every decision against ea/testdata/decisions.json, so what is     |
//| decided here is tested without MetaTrader. The .mqh files that    |
//| talk to the terminal only gather facts and act on the answers.    |
//+------------------------------------------------------------------+
#ifndef KOPITRA_LOGIC_MQH
#define KOPITRA_LOGIC_MQH

//+------------------------------------------------------------------+
//| Strings                                                           |
//+------------------------------------------------------------------+
bool KpIsSpace(const ushort c)
  {
   return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0x0B || c == 0x0C;
  }

/**
 * Trims whitespace on both sides. Written out by hand: MQL5's StringTrimLeft trims in place
 * and returns a count, MQL4's returns a trimmed copy — code written for one does nothing on
 * the other.
 */
string KpTrim(const string s)
  {
   int n = StringLen(s);
   int a = 0;
   while(a < n && KpIsSpace(StringGetCharacter(s, a)))
      a++;
   int b = n;
   while(b > a && KpIsSpace(StringGetCharacter(s, b - 1)))
      b--;
   if(a == 0 && b == n)
      return s;
   return StringSubstr(s, a, b - a);
  }

/** FNV-1a over the UTF-16 code units of s, as 8 lowercase hex digits. */
string KpShortHash(const string s)
  {
   uint h = (uint)2166136261;
   int n = StringLen(s);
   for(int i = 0; i < n; i++)
     {
      h ^= (uint)StringGetCharacter(s, i);
      h *= 16777619;
     }
   string hex = "0123456789abcdef";
   string out = "";
   for(int k = 7; k >= 0; k--)
      out += StringSubstr(hex, (int)((h >> (4 * k)) & 15), 1);
   return out;
  }

//+------------------------------------------------------------------+
//| Position tags                                                     |
//+------------------------------------------------------------------+
// A copied position's comment: kp:<KpShortHash(copy group id)>:<masterPositionId>, cut to
// 31 characters (packages/contracts/src/position-tag.ts writes it; the gateway sends it in
// trade.started and in every follow-up, so the EA never needs the group id). Positions opened
// before group tags carry the legacy kopitra:<masterPositionId>, which names no group.
#define KP_TAG_PREFIX        "kp:"
#define KP_LEGACY_TAG_PREFIX "kopitra:"
// MetaTrader keeps at most 31 characters of an order/position comment.
#define KP_COMMENT_MAX       31

#define KP_TAG_NONE          0   // not this copy's tag
#define KP_TAG_EXACT         1   // the tag the gateway sent: this group's copy
#define KP_TAG_LEGACY        2   // a legacy tag of this master position id: this copy only if no other fits

/** True when a comment is a Kopitra position tag (new or legacy): close_all counts it as managed. */
bool KpIsPositionTag(const string comment)
  {
   return StringFind(comment, KP_TAG_PREFIX) == 0 || StringFind(comment, KP_LEGACY_TAG_PREFIX) == 0;
  }

/** The legacy tag of a master position (a gateway that sends no comment predates group tags). */
string KpLegacyTag(const string masterPositionId)
  {
   return StringSubstr(KP_LEGACY_TAG_PREFIX + masterPositionId, 0, KP_COMMENT_MAX);
  }

/**
 * How a position's comment fits the copy an event addresses: `tag` is the comment the gateway
 * sent (empty from an older gateway), `masterPositionId` the event's (empty: no legacy match,
 * as for an open, whose own tag is the only evidence). A cut comment matches by prefix.
 */
int KpTagMatch(const string comment, const string tag, const string masterPositionId)
  {
   int n = StringLen(comment);
   if(n == 0)
      return KP_TAG_NONE;
   if(tag != "" && (comment == tag || (n >= KP_COMMENT_MAX && StringFind(tag, comment) == 0)))
      return KP_TAG_EXACT;
   if(masterPositionId == "" || StringFind(comment, KP_LEGACY_TAG_PREFIX) != 0)
      return KP_TAG_NONE;
   string id = StringSubstr(comment, StringLen(KP_LEGACY_TAG_PREFIX));
   if(id == "")
      return KP_TAG_NONE;
   if(n >= KP_COMMENT_MAX)
      return StringFind(masterPositionId, id) == 0 ? KP_TAG_LEGACY : KP_TAG_NONE;
   return id == masterPositionId ? KP_TAG_LEGACY : KP_TAG_NONE;
  }

/**
 * Whether a position is one of a copy's positions (a hedging copy the master added to holds
 * several, all tagged alike): with the group's tag, that exact tag only; from an older gateway
 * (no tag), the legacy tag of the id.
 */
bool KpCopyTagged(const string comment, const string tag, const string masterPositionId)
  {
   return KpTagMatch(comment, tag, tag == "" ? masterPositionId : "") != KP_TAG_NONE;
  }

/**
 * An account id as part of a file name. Windows refuses ':' (and \ / * ? " < > |) in names,
 * which the gateway allows in ids: such characters become '_' and a hash of the original id
 * is appended, so two ids never share a state file.
 */
string KpFileSafeId(const string id)
  {
   string out = "";
   bool changed = false;
   int n = StringLen(id);
   for(int i = 0; i < n; i++)
     {
      ushort c = StringGetCharacter(id, i);
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
      if(ok)
         out += StringSubstr(id, i, 1);
      else
        {
         out += "_";
         changed = true;
        }
     }
   if(changed)
      out += "~" + KpShortHash(id);
   return out;
  }

//+------------------------------------------------------------------+
//| Magic numbers                                                     |
//+------------------------------------------------------------------+
/** Decimal digits of an unsigned 64-bit value (MQL's IntegerToString prints a long, signed). */
string KpUlongToString(const ulong value)
  {
   if(value == 0)
      return "0";
   string out = "";
   ulong v = value;
   while(v > 0)
     {
      out = CharToString((uchar)('0' + (int)(v % 10))) + out;
      v /= 10;
     }
   return out;
  }

/**
 * A magic number as it goes on the wire: a decimal string. MT5's DEAL_MAGIC/POSITION_MAGIC is
 * an unsigned 64-bit value read through a long; MT4's OrderMagicNumber() is a signed int.
 */
string KpMagicString(const long magic, const bool unsigned64)
  {
   if(unsigned64)
      return KpUlongToString((ulong)magic);
   return IntegerToString(magic);
  }

//+------------------------------------------------------------------+
//| Time                                                              |
//+------------------------------------------------------------------+
/** Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
long KpDaysFromCivil(const int year, const int month, const int day)
  {
   int y = (month <= 2) ? year - 1 : year;
   int era = (y >= 0 ? y : y - 399) / 400;
   int yoe = y - era * 400;
   int mp = (month + 9) % 12;
   int doy = (153 * mp + 2) / 5 + day - 1;
   int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
   return (long)era * 146097 + (long)doe - 719468;
  }

int KpDigitsAt(const string s, const int start, const int count, bool &ok)
  {
   int v = 0;
   if(start + count > StringLen(s))
     {
      ok = false;
      return 0;
     }
   for(int k = 0; k < count; k++)
     {
      ushort c = StringGetCharacter(s, start + k);
      if(c < '0' || c > '9')
        {
         ok = false;
         return 0;
        }
      v = v * 10 + (int)(c - '0');
     }
   return v;
  }

bool KpValidClock(const int mon, const int day, const int hour, const int minute, const int second)
  {
   return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
  }

/** Parses ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" into seconds since 1970 UTC (fractions dropped). */
bool KpParseIsoSeconds(const string text, long &out)
  {
   string s = KpTrim(text);
   int n = StringLen(s);
   if(n < 19)
      return false;
   bool ok = true;
   int year = KpDigitsAt(s, 0, 4, ok);
   int mon = KpDigitsAt(s, 5, 2, ok);
   int day = KpDigitsAt(s, 8, 2, ok);
   int hour = KpDigitsAt(s, 11, 2, ok);
   int minute = KpDigitsAt(s, 14, 2, ok);
   int second = KpDigitsAt(s, 17, 2, ok);
   ushort t = StringGetCharacter(s, 10);
   if(!ok || StringGetCharacter(s, 4) != '-' || StringGetCharacter(s, 7) != '-' || (t != 'T' && t != 't' && t != ' ')
      || StringGetCharacter(s, 13) != ':' || StringGetCharacter(s, 16) != ':' || !KpValidClock(mon, day, hour, minute, second))
      return false;
   int i = 19;
   if(i < n && StringGetCharacter(s, i) == '.')
     {
      i++;
      while(i < n && StringGetCharacter(s, i) >= '0' && StringGetCharacter(s, i) <= '9')
         i++;
     }
   long offset = 0;
   if(i >= n)
      return false;   // no zone: the gateway always sends one, and local time would be a guess
   ushort z = StringGetCharacter(s, i);
   if(z == '+' || z == '-')
     {
      int oh = KpDigitsAt(s, i + 1, 2, ok);
      int pos = i + 3;
      if(pos < n && StringGetCharacter(s, pos) == ':')
         pos++;
      int om = KpDigitsAt(s, pos, 2, ok);
      if(!ok || pos + 2 != n)
         return false;
      offset = (long)(oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
     }
   else if((z != 'Z' && z != 'z') || i + 1 != n)
      return false;
   out = KpDaysFromCivil(year, mon, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
   return true;
  }

/** Parses an RFC 7231 HTTP date such as " Mon, 05 Jan 2026 09:00:00 GMT" (the Date header's value). */
bool KpParseHttpDateSeconds(const string text, long &out)
  {
   string months = "JanFebMarAprMayJunJulAugSepOctNovDec";
   string s = KpTrim(text);
   int comma = StringFind(s, ",");
   if(comma < 0)
      return false;
   string rest = KpTrim(StringSubstr(s, comma + 1)); // "05 Jan 2026 09:00:00 GMT"
   if(StringLen(rest) < 20)
      return false;
   bool ok = true;
   int day = KpDigitsAt(rest, 0, 2, ok);
   int m = StringFind(months, StringSubstr(rest, 3, 3));
   if(m < 0 || m % 3 != 0)
      return false;
   int year = KpDigitsAt(rest, 7, 4, ok);
   int hour = KpDigitsAt(rest, 12, 2, ok);
   int minute = KpDigitsAt(rest, 15, 2, ok);
   int second = KpDigitsAt(rest, 18, 2, ok);
   if(!ok || !KpValidClock(m / 3 + 1, day, hour, minute, second))
      return false;
   out = KpDaysFromCivil(year, m / 3 + 1, day) * 86400 + hour * 3600 + minute * 60 + second;
   return true;
  }

#define KP_MAX_ZONE_SEC  (14 * 3600)

/**
 * The trade server's offset from UTC, rounded to 15 minutes. `serverNow` is only trusted when
 * it is fresh (MT5's TimeTradeServer, or an MT4 quote seen during this run): MT4's TimeCurrent
 * is the last quote's time, days old after a weekend restart. Otherwise the last offset learnt
 * is kept; -1 as `known` means none yet, and then only a plausible difference is used.
 */
long KpServerOffsetSec(const long serverNow, const long gmtNow, const bool fresh, const long known)
  {
   long diff = serverNow - gmtNow;
   long rounded = (long)(MathRound((double)diff / 900.0) * 900.0);
   bool plausible = rounded >= -KP_MAX_ZONE_SEC && rounded <= KP_MAX_ZONE_SEC;
   if(fresh && plausible)
      return rounded;
   if(known != -1)
      return known;
   return plausible ? rounded : 0;
  }

//+------------------------------------------------------------------+
//| Trade results: what an answer of the trade server means           |
//+------------------------------------------------------------------+
#define KP_RC_DONE           0   // executed (a deal exists)
#define KP_RC_RETRY_NOW      1   // price moved: retry at once with a fresh price (re-check slippage)
#define KP_RC_RETRY_LATER    2   // temporary (busy, connection, market closed, frozen): nothing executed, try again later
#define KP_RC_UNCERTAIN      3   // may have executed (timeout, order placed without a deal yet): look before retrying
#define KP_RC_FINAL          4   // refused for good: report rejected
#define KP_RC_INVALID_FILL   5   // MT5: try the next filling mode
#define KP_RC_INVALID_STOPS  6   // SL/TP too close: open without them, then set them
#define KP_RC_NO_CHANGES     7   // modify with the same levels: nothing to do
#define KP_RC_NOT_SENT       8   // MT5: CTrade returned false before sending (its result is the previous one)

/** MT5 trade server return codes (https://www.mql5.com/en/docs/constants/errorswarnings/enum_trade_return_codes). */
int KpClassifyMt5(const uint rc)
  {
   if(rc == 10009 || rc == 10010)                      // DONE, DONE_PARTIAL
      return KP_RC_DONE;
   if(rc == 10004 || rc == 10020 || rc == 10021)       // REQUOTE, PRICE_CHANGED, PRICE_OFF
      return KP_RC_RETRY_NOW;
   if(rc == 10018 || rc == 10024 || rc == 10028 || rc == 10029 || rc == 10031 || rc == 10027)
      return KP_RC_RETRY_LATER;                        // MARKET_CLOSED, TOO_MANY_REQUESTS, LOCKED, FROZEN, CONNECTION, CLIENT_DISABLES_AT
   if(rc == 10012 || rc == 10008)                      // TIMEOUT, PLACED (exchange: no deal yet)
      return KP_RC_UNCERTAIN;
   if(rc == 10030)
      return KP_RC_INVALID_FILL;
   if(rc == 10016)
      return KP_RC_INVALID_STOPS;
   if(rc == 10025)
      return KP_RC_NO_CHANGES;
   return KP_RC_FINAL;
  }

/**
 * One CTrade call: `returned` is its bool result, `rc` ResultRetcode(), `deal` ResultDeal().
 * CTrade returns false without touching its result when it cannot select the position, so a
 * success code next to `false` is the previous operation's. An execution without a deal
 * ticket is not known to be filled.
 */
int KpMt5Result(const bool returned, const uint rc, const ulong deal, const bool isModify)
  {
   int c = KpClassifyMt5(rc);
   if(!returned && (c == KP_RC_DONE || c == KP_RC_NO_CHANGES || rc == 10008 || rc == 0))
      return KP_RC_NOT_SENT;
   if(c == KP_RC_DONE && !isModify && deal == 0)
      return KP_RC_UNCERTAIN;
   return c;
  }

/** MT4 GetLastError() after OrderSend/OrderClose/OrderModify (https://docs.mql4.com/constants/errorswarnings/errorcodes). */
int KpClassifyMt4(const int err)
  {
   if(err == 0)
      return KP_RC_DONE;
   if(err == 1)                                        // ERR_NO_RESULT: modify with unchanged values
      return KP_RC_NO_CHANGES;
   if(err == 129 || err == 135 || err == 136 || err == 138)   // INVALID_PRICE, PRICE_CHANGED, OFF_QUOTES, REQUOTE
      return KP_RC_RETRY_NOW;
   if(err == 4 || err == 6 || err == 8 || err == 132 || err == 137 || err == 141 || err == 145 || err == 146)
      return KP_RC_RETRY_LATER;                        // SERVER_BUSY, NO_CONNECTION, TOO_FREQUENT, MARKET_CLOSED, BROKER_BUSY, TOO_MANY_REQUESTS, MODIFY_DENIED, CONTEXT_BUSY
   if(err == 128)                                      // TRADE_TIMEOUT: may have executed
      return KP_RC_UNCERTAIN;
   if(err == 130)
      return KP_RC_INVALID_STOPS;
   return KP_RC_FINAL;
  }

#define KP_TRADE_MAX_DEFERRALS 6

/** Seconds before a deferred trade event is tried again (attempt 1, 2, …); -1: give up and report it. */
int KpTradeRetryDelaySec(const int attempt)
  {
   if(attempt < 1)
      return 0;
   if(attempt > KP_TRADE_MAX_DEFERRALS)
      return -1;
   int d = 2;
   for(int i = 1; i < attempt; i++)
      d *= 2;
   return d > 30 ? 30 : d;
  }

//+------------------------------------------------------------------+
//| An order the trade server answered PLACED (MT5 exchange execution) |
//+------------------------------------------------------------------+
#define KP_PLACED_WAIT       0   // still working on the exchange: send nothing new, look again later
#define KP_PLACED_FILLED     1   // executed (wholly or partly): report the deal it made
#define KP_PLACED_REFUSED    2   // cancelled, rejected or expired without a deal: nothing was opened
#define KP_PLACED_UNKNOWN    3   // in neither the orders nor the history (yet): look again later
#define KP_PLACED_CANCEL     4   // still working at the last attempt: delete it, then report

/**
 * What became of an order answered TRADE_RETCODE_PLACED (10008): it is on the exchange, no deal
 * yet, so it is never "filled" and never sent a second time. `active` when it is still among
 * the terminal's orders; else `state` is its ORDER_STATE in the history, -1 when absent
 * (https://www.mql5.com/en/docs/constants/tradingconstants/orderproperties#enum_order_state:
 * STARTED 0, PLACED 1, CANCELED 2, PARTIAL 3, FILLED 4, REJECTED 5, EXPIRED 6, REQUEST_ADD 7,
 * REQUEST_MODIFY 8, REQUEST_CANCEL 9). `attempts` counts the deferrals so far: an order still
 * working when they run out is deleted rather than left to fill after the report.
 */
int KpPlacedOrderDecision(const bool active, const long state, const int attempts)
  {
   bool working = active || state == 0 || state == 1 || (state >= 7 && state <= 9);
   if(working)
      return attempts >= KP_TRADE_MAX_DEFERRALS ? KP_PLACED_CANCEL : KP_PLACED_WAIT;
   if(state == 3 || state == 4)
      return KP_PLACED_FILLED;
   if(state == 2 || state == 5 || state == 6)
      return KP_PLACED_REFUSED;
   return KP_PLACED_UNKNOWN;
  }

//+------------------------------------------------------------------+
//| Prices: slippage, stops and freeze levels                         |
//+------------------------------------------------------------------+
/** Points the fill price moved against the follower from the master's price (buy at ask, sell at bid). */
double KpAdversePoints(const bool buy, const double masterPrice, const double ask, const double bid, const double point)
  {
   if(point <= 0.0 || masterPrice <= 0.0)
      return 0.0;
   return (buy ? ask - masterPrice : masterPrice - bid) / point;
  }

/** Checked before every attempt, requotes included: a retry must not fill beyond maxSlippage. */
bool KpSlippageExceeded(const bool buy, const double masterPrice, const double ask, const double bid, const double point, const long maxSlippage)
  {
   if(maxSlippage < 0)
      return false;
   return KpAdversePoints(buy, masterPrice, ask, bid, point) > (double)maxSlippage + 1e-6;
  }

#define KP_STOPS_SL_BAD 1
#define KP_STOPS_TP_BAD 2

/**
 * Which levels break SYMBOL_TRADE_STOPS_LEVEL (MODE_STOPLEVEL on MT4): a buy's SL/TP are
 * measured from the bid it closes at, a sell's from the ask. 0 = no level. Returns a mask of
 * KP_STOPS_SL_BAD / KP_STOPS_TP_BAD.
 */
int KpStopsViolations(const bool buy, const double bid, const double ask, const double sl, const double tp, const long stopsLevelPoints, const double point)
  {
   double dist = (double)stopsLevelPoints * point;
   double ref = buy ? bid : ask;
   double eps = point * 1e-3;
   int bad = 0;
   if(sl > 0.0)
     {
      if(buy ? (sl > ref - dist + eps) : (sl < ref + dist - eps))
         bad |= KP_STOPS_SL_BAD;
     }
   if(tp > 0.0)
     {
      if(buy ? (tp < ref + dist - eps) : (tp > ref - dist + eps))
         bad |= KP_STOPS_TP_BAD;
     }
   return bad;
  }

/**
 * SYMBOL_TRADE_FREEZE_LEVEL (MODE_FREEZELEVEL): while the price is this close to a position's
 * SL or TP the server refuses to modify or close it. True: wait and try again.
 */
bool KpFrozen(const bool buy, const double bid, const double ask, const double sl, const double tp, const long freezeLevelPoints, const double point)
  {
   if(freezeLevelPoints <= 0 || point <= 0.0)
      return false;
   double dist = (double)freezeLevelPoints * point;
   double ref = buy ? bid : ask;
   if(sl > 0.0 && MathAbs(ref - sl) < dist)
      return true;
   if(tp > 0.0 && MathAbs(ref - tp) < dist)
      return true;
   return false;
  }

//+------------------------------------------------------------------+
//| MT5 filling mode                                                  |
//+------------------------------------------------------------------+
#define KP_FILL_BY_SERVER  0   // request/instant execution: the server decides, CTrade sends as is
#define KP_FILL_FOK        1
#define KP_FILL_IOC        2
#define KP_FILL_RETURN     3   // market execution allowing neither FOK nor IOC: sent without CTrade

/**
 * The filling mode for a deal. `execMode` is SYMBOL_TRADE_EXEMODE (0 request, 1 instant,
 * 2 market, 3 exchange), `mask` SYMBOL_FILLING_MODE (bit 1 FOK, bit 2 IOC). CTrade's own check
 * overrides the mode for market execution and fails locally when neither bit is set, so a
 * RETURN-only symbol must be sent with OrderSend directly.
 */
int KpFillingMode(const int execMode, const long mask)
  {
   if(execMode == 0 || execMode == 1)
      return KP_FILL_BY_SERVER;
   if((mask & 1) == 1)
      return KP_FILL_FOK;
   if((mask & 2) == 2)
      return KP_FILL_IOC;
   return KP_FILL_RETURN;
  }

//+------------------------------------------------------------------+
//| Follower: replays and recovery                                    |
//+------------------------------------------------------------------+
#define KP_OPEN_EXECUTE    0
#define KP_OPEN_ALREADY    1   // a position or deal carries the tag: report it, never open twice
#define KP_OPEN_CANCELLED  2
#define KP_OPEN_EXPIRED    3
#define KP_OPEN_UNKNOWN    4   // may have happened and cannot be told: report failed, do not repeat
#define KP_OPEN_NO_COPY    5   // an add with nothing of its copy open (its open was refused): report failed

/**
 * trade.started. The lookup comes first: after a crash, an open that did execute is reported
 * as filled even when its expiresAt has passed meanwhile (otherwise it would be an orphan no
 * master close touches).
 */
int KpOpenDecision(const bool found, const bool cancelled, const bool expired)
  {
   if(found)
      return KP_OPEN_ALREADY;
   if(cancelled)
      return KP_OPEN_CANCELLED;
   if(expired)
      return KP_OPEN_EXPIRED;
   return KP_OPEN_EXECUTE;
  }

#define KP_CLOSE_EXECUTE    0
#define KP_CLOSE_ALREADY    1   // done before a restart: report, do not repeat
#define KP_CLOSE_NOT_FOUND  2
#define KP_CLOSE_UNKNOWN    3   // may have happened and cannot be told: report failed, do not repeat

/**
 * trade.closed / trade.partial_close / order.command close. `recovering`: the event was being
 * executed when the terminal stopped. `dealFound`: a deal tagged with this order is in the
 * history. `positionFound`: the position still exists. On netting the net position survives
 * a close of one copy, so only the tagged deal tells that it happened; on hedging a whole
 * close that happened leaves no position. `partial`: a hedging partial close leaves the
 * position and no tag, so an interrupted one cannot be told.
 */
int KpCloseDecision(const bool recovering, const bool netting, const bool partial, const bool positionFound, const bool dealFound)
  {
   if(dealFound)
      return KP_CLOSE_ALREADY;
   if(recovering && !netting && !partial && !positionFound)
      return KP_CLOSE_ALREADY;
   if(recovering && !netting && partial)
      return KP_CLOSE_UNKNOWN;
   if(!positionFound)
      return KP_CLOSE_NOT_FOUND;
   return KP_CLOSE_EXECUTE;
  }

/**
 * trade.increased (a netting master added to its position). Netting: the add is a deal carrying
 * the order's tag, so `dealFound` tells a replay it happened. Hedging: the add is a position
 * with the same tag as the copy's first, so an interrupted one cannot be told apart; it is
 * reported failed rather than repeated (the gateway takes it back off the link, and
 * reconciliation trims the volume if it did happen). `copyFound`: a position of the copy is
 * open (hedging: one carrying its ticket or tag; netting: the symbol's position). Without it
 * the add is refused: the copy's open was refused just before, and the add would otherwise
 * open a position of its own that no copy stands for.
 */
int KpIncreaseDecision(const bool recovering, const bool netting, const bool dealFound, const bool cancelled, const bool expired, const bool copyFound)
  {
   if(dealFound)
      return KP_OPEN_ALREADY;
   if(recovering && !netting)
      return KP_OPEN_UNKNOWN;
   if(cancelled)
      return KP_OPEN_CANCELLED;
   if(expired)
      return KP_OPEN_EXPIRED;
   if(!copyFound)
      return KP_OPEN_NO_COPY;
   return KP_OPEN_EXECUTE;
  }

/**
 * A partial close of a copy spanning several hedging positions (`positions` in the payload) is
 * spread newest position first: this is what to take from one position, given what is still to
 * close. At most what is still to close and what the position holds, floored to the step; a
 * position is never left under the minimum (it keeps the minimum, the rest comes from the next
 * older one), and less than the minimum is never closed (0: leave this position). The same rule
 * as the SDK simulator's spreadClose.
 */
double KpSpreadTake(const double remaining, const double positionVolume, const double volumeMin, const double volumeStep)
  {
   double eps = 1e-9;
   if(volumeStep <= 0.0 || remaining < volumeMin - eps)
      return 0.0;
   double take = MathFloor(MathMin(remaining, positionVolume) / volumeStep + eps) * volumeStep;
   double rest = positionVolume - take;
   if(rest > eps && rest < volumeMin - eps)
      take = MathFloor((positionVolume - volumeMin) / volumeStep + eps) * volumeStep;
   if(take < volumeMin - eps)
      return 0.0;
   return MathRound(take / volumeStep) * volumeStep;
  }

/** The comment of a deal the EA sends for a copy order or a command, so a replay can find it (≤ 31 characters). */
string KpOrderTag(const string orderOrCommandId)
  {
   return "kopitra:o:" + KpShortHash(orderOrCommandId);
  }

//+------------------------------------------------------------------+
//| Follower: outbox event types                                      |
//+------------------------------------------------------------------+
#define KP_TYPE_UNKNOWN   0
#define KP_TYPE_TRADE     1   // executed by the follower, reported with POST /executions
#define KP_TYPE_COMMAND   2   // order.command: reported with ea.execution_notice
#define KP_TYPE_CANCEL    3
#define KP_TYPE_SESSION   4   // handled by the session itself

int KpEventKind(const string type)
  {
   if(type == "trade.started" || type == "trade.increased" || type == "trade.modified" || type == "trade.partial_close" || type == "trade.closed")
      return KP_TYPE_TRADE;
   if(type == "trade.order_placed" || type == "trade.order_modified" || type == "trade.order_cancelled")
      return KP_TYPE_TRADE;
   if(type == "order.command")
      return KP_TYPE_COMMAND;
   if(type == "order.cancel")
      return KP_TYPE_CANCEL;
   if(type == "session.init_ack" || type == "session.shutdown" || type == "sync.request" || type == "error.alert")
      return KP_TYPE_SESSION;
   return KP_TYPE_UNKNOWN;
  }

//+------------------------------------------------------------------+
//| Session                                                           |
//+------------------------------------------------------------------+
/**
 * After session.shutdown: seconds until the EA reconnects on its own, -1 = never (until it is
 * re-attached). `hasValue`: reconnectAfterSec was present; `isNull`: it was null, which the
 * protocol defines as "do not reconnect".
 */
int KpReconnectDelaySec(const string reason, const bool hasValue, const bool isNull, const int value)
  {
   if(reason == "takeover" || reason == "rejected")
      return -1;
   if(hasValue && isNull)
      return -1;
   if(hasValue)
      return value < 30 ? 30 : value;
   return reason == "disabled" ? 300 : 30;
  }

#define KP_Q_ACCEPTED     0
#define KP_Q_RETRY        1   // keep it, back off, send again with the same Idempotency-Key
#define KP_Q_REAUTH       2   // 401: a new session is created; keep it
#define KP_Q_WAIT_APPROVAL 3
#define KP_Q_DROP         4   // the gateway said, with one of its error codes, that it never will accept it

/** Error codes with which the gateway refuses a request for good (docs/errors.md). */
bool KpPermanentGatewayError(const string code)
  {
   return code == "malformed_json" || code == "invalid_request" || code == "missing_account_header"
          || code == "missing_idempotency_key" || code == "idempotency_key_reused" || code == "payload_too_large"
          || code == "unsupported_media_type" || code == "route_not_found" || code == "role_forbidden"
          || code == "order_not_found" || code == "execution_conflict";
  }

/**
 * What to do with a queued request after an answer. `status` -1: no answer. Only a refusal the
 * gateway itself explains with one of its codes drops the request: a proxy's 403/404 page or a
 * restarting App Service has no such code, and dropping would lose signals and reports.
 */
int KpQueueDisposition(const int status, const string errorCode)
  {
   if(status >= 200 && status < 300)
      return KP_Q_ACCEPTED;
   if(status == 401)
      return KP_Q_REAUTH;
   if(status == 403 && errorCode == "session_pending")
      return KP_Q_WAIT_APPROVAL;
   if(status >= 400 && status < 500 && status != 429 && KpPermanentGatewayError(errorCode))
      return KP_Q_DROP;
   return KP_Q_RETRY;
  }

#define KP_ID_ADOPT    0   // no login saved yet: remember this one
#define KP_ID_SAME     1
#define KP_ID_CHANGED  2   // the terminal is logged in to another trade account: stop

/** The state file belongs to one trade account (ACCOUNT_LOGIN on ACCOUNT_SERVER). */
int KpIdentityDecision(const long savedLogin, const string savedServer, const long login, const string server)
  {
   if(savedLogin == 0)
      return KP_ID_ADOPT;
   if(savedLogin == login && savedServer == server)
      return KP_ID_SAME;
   return KP_ID_CHANGED;
  }

//+------------------------------------------------------------------+
//| MT4 master: an order missing from the open list                   |
//+------------------------------------------------------------------+
#define KP_MISS_SETTLE_SEC  15   // after connecting/starting, the order list may still be syncing
#define KP_MISS_LIMIT       30   // consecutive connected scans without the order and without a history record

#define KP_MISS_WAIT          0   // not judged now (offline, or just (re)connected)
#define KP_MISS_COUNT         1   // count one more miss
#define KP_MISS_CLOSED        2   // the history has its close: report it
#define KP_MISS_CLOSED_MARKET 3   // missing for long while connected: report closed at the current price

/**
 * An MT4 order seen before and missing now. After a restart, reconnect or login switch the
 * order list is empty or partial for a while; reporting those orders closed would close every
 * follower's copy. A close is reported only with a history record, or after many scans while
 * connected and settled.
 */
int KpMt4MissingDecision(const bool connected, const int secondsSinceSettled, const bool historyClosed, const int misses)
  {
   if(historyClosed)
      return KP_MISS_CLOSED;
   if(!connected || secondsSinceSettled < KP_MISS_SETTLE_SEC)
      return KP_MISS_WAIT;
   if(misses + 1 >= KP_MISS_LIMIT)
      return KP_MISS_CLOSED_MARKET;
   return KP_MISS_COUNT;
  }

//+------------------------------------------------------------------+
//| Pending orders                                                    |
//+------------------------------------------------------------------+
#define KP_ORDER_NONE        0
#define KP_ORDER_LIMIT       1
#define KP_ORDER_STOP        2
#define KP_ORDER_STOP_LIMIT  3   // MT5 only: MT4 has no stop-limit orders

/** The wire's orderType ("limit" | "stop" | "stop_limit") as KP_ORDER_*; KP_ORDER_NONE when unknown. */
int KpOrderKind(const string orderType)
  {
   if(orderType == "limit")
      return KP_ORDER_LIMIT;
   if(orderType == "stop")
      return KP_ORDER_STOP;
   if(orderType == "stop_limit")
      return KP_ORDER_STOP_LIMIT;
   return KP_ORDER_NONE;
  }

string KpOrderKindName(const int kind)
  {
   if(kind == KP_ORDER_LIMIT)
      return "limit";
   if(kind == KP_ORDER_STOP)
      return "stop";
   if(kind == KP_ORDER_STOP_LIMIT)
      return "stop_limit";
   return "";
  }

/**
 * How far the order's price is from the market it waits for, positive while it waits: a buy
 * is compared with the ask, a sell with the bid; a buy limit and a sell stop wait below it, a
 * buy stop and a sell limit above it (a stop-limit's trigger like a stop). The same rule as the
 * SDK simulator's placementRefusal. The gateway has already reversed a reversed copy: the EA
 * places the side and type it is sent.
 */
double KpOrderGap(const bool buy, const int kind, const double price, const double bid, const double ask)
  {
   double market = buy ? ask : bid;
   bool below = buy ? kind == KP_ORDER_LIMIT : kind != KP_ORDER_LIMIT;
   return below ? market - price : price - market;
  }

#define KP_PEND_OK          0
#define KP_PEND_WRONG_SIDE  1   // the market is already past the price: it would fill at once
#define KP_PEND_TOO_CLOSE   2   // nearer the market than SYMBOL_TRADE_STOPS_LEVEL
#define KP_PEND_STOPS       3   // SL or TP nearer the order's open price than the stops level, or on the wrong side
#define KP_PEND_FROZEN      4   // nearer the market than SYMBOL_TRADE_FREEZE_LEVEL: may not be modified or deleted

/**
 * Whether the broker takes a pending order at `price` now (placement and modification):
 * on the right side of the market, at least `stopsLevelPoints` from it, and its SL/TP at
 * least that far from the price it opens at (`stopLimitPrice` for a stop-limit). Checked
 * before sending, so a refusal names the level instead of a bare code.
 */
int KpPendingPlacement(const bool buy, const int kind, const double price, const double stopLimitPrice, const double sl, const double tp,
                       const double bid, const double ask, const long stopsLevelPoints, const double point)
  {
   double eps = point * 1e-3;
   double gap = KpOrderGap(buy, kind, price, bid, ask);
   if(gap <= eps)
      return KP_PEND_WRONG_SIDE;
   if(gap < (double)stopsLevelPoints * point - eps)
      return KP_PEND_TOO_CLOSE;
   double opensAt = (kind == KP_ORDER_STOP_LIMIT && stopLimitPrice > 0.0) ? stopLimitPrice : price;
   if(KpStopsViolations(buy, opensAt, opensAt, sl, tp, stopsLevelPoints, point) != 0)
      return KP_PEND_STOPS;
   return KP_PEND_OK;
  }

/** SYMBOL_TRADE_FREEZE_LEVEL (MODE_FREEZELEVEL): a pending order this near the market may be neither modified nor deleted. */
bool KpPendingFrozen(const bool buy, const int kind, const double price, const double bid, const double ask, const long freezeLevelPoints, const double point)
  {
   if(freezeLevelPoints <= 0 || point <= 0.0)
      return false;
   return KpOrderGap(buy, kind, price, bid, ask) < (double)freezeLevelPoints * point - point * 1e-3;
  }

/**
 * The broker's code a refusal is reported with (`errorCode` of the execution report; the
 * message says which level): MT5 10015 INVALID_PRICE, 10016 INVALID_STOPS, 10029 FROZEN;
 * MT4 130 ERR_INVALID_STOPS (MT4's answer to a pending price too near or on the wrong side),
 * 145 ERR_TRADE_MODIFY_DENIED (too near the market to change).
 */
int KpPendingRefusalCode(const int refusal, const bool mt5)
  {
   if(refusal == KP_PEND_WRONG_SIDE)
      return mt5 ? 10015 : 130;
   if(refusal == KP_PEND_TOO_CLOSE || refusal == KP_PEND_STOPS)
      return mt5 ? 10016 : 130;
   if(refusal == KP_PEND_FROZEN)
      return mt5 ? 10029 : 145;
   return 0;
  }

#define KP_EXPIRY_GTC        0   // no expiry: good till cancelled
#define KP_EXPIRY_SPECIFIED  1   // ORDER_TIME_SPECIFIED (MT4: OrderSend's expiration) at the order's expiry
#define KP_EXPIRY_BY_EA      2   // the broker takes no expiry time: placed good till cancelled, the EA deletes it at expiry
#define KP_EXPIRY_PAST       3   // expired before it could be placed: not placed
#define KP_EXPIRY_DAY        4   // the broker takes only day orders: ORDER_TIME_DAY (the EA still deletes it at an earlier expiry)

/**
 * How an order that expires at `expiresAt` (UTC seconds, 0: never) is placed, given
 * SYMBOL_EXPIRATION_MODE (`modeMask`: 1 GTC, 2 DAY, 4 SPECIFIED, 8 SPECIFIED_DAY;
 * https://www.mql5.com/en/docs/constants/environment_state/marketinfoconstants). A mask of 0
 * (not reported) is taken as allowing everything.
 */
int KpExpiryMode(const long expiresAt, const long now, const long modeMask)
  {
   bool any = modeMask == 0;
   bool gtc = any || (modeMask & 1) == 1;
   bool day = (modeMask & 2) == 2;
   bool specified = any || (modeMask & 4) == 4;
   if(expiresAt > 0 && expiresAt <= now)
      return KP_EXPIRY_PAST;
   if(expiresAt > 0 && specified)
      return KP_EXPIRY_SPECIFIED;
   if(gtc)
      return expiresAt > 0 ? KP_EXPIRY_BY_EA : KP_EXPIRY_GTC;
   return day ? KP_EXPIRY_DAY : (expiresAt > 0 ? KP_EXPIRY_BY_EA : KP_EXPIRY_GTC);
  }

/**
 * MT5 answer to a pending order's placement, modification or delete: DONE (10009) or PLACED
 * (10008) with an order ticket is success — such an operation makes no deal. (For a market
 * order PLACED is not a fill: KpMt5Result keeps it uncertain.)
 */
int KpMt5PendingResult(const bool returned, const uint rc, const ulong order, const bool placing)
  {
   if((rc == 10009 || rc == 10008) && (order > 0 || !placing))
      return returned ? KP_RC_DONE : KP_RC_NOT_SENT;
   if(rc == 10008 || rc == 10009)
      return KP_RC_UNCERTAIN;   // accepted without a ticket: look for the order by its tag
   if(!returned && rc == 0)
      return KP_RC_NOT_SENT;
   return KpClassifyMt5(rc);
  }

//+------------------------------------------------------------------+
//| Master: what became of a pending order (MT4 snapshots, MT5 scans) |
//+------------------------------------------------------------------+
#define KP_OCHG_NONE       0
#define KP_OCHG_PLACED     1   // order.placed
#define KP_OCHG_MODIFIED   2   // order.modified
#define KP_OCHG_FILLED     3   // order.filled (never also position.opened)
#define KP_OCHG_CANCELLED  4   // order.cancelled: deleted by the trader (or rejected)
#define KP_OCHG_EXPIRED    5   // order.cancelled: its expiry passed
#define KP_OCHG_WAIT       6   // gone, and nothing tells yet what became of it: look again
#define KP_OCHG_GONE       7   // gone unseen for many connected scans: reported cancelled

#define KP_OHIST_NONE       0   // not in the history (yet)
#define KP_OHIST_FILLED     1   // MT4: the ticket is a market order now (or was, closed since); MT5: ORDER_STATE_FILLED / PARTIAL
#define KP_OHIST_CANCELLED  2   // MT5: CANCELED / REJECTED; MT4: a pending ticket closed before its expiry
#define KP_OHIST_EXPIRED    3   // MT5: ORDER_STATE_EXPIRED; MT4: closed at or after its expiration

/**
 * One pending order of the master, compared with the last scan. `known`: tracked from an
 * earlier scan; `listed`: among the terminal's orders now (MT4: OrdersTotal(), pending or
 * market); `isMarket`: MT4's ticket turned OP_BUY/OP_SELL (the order filled and kept its
 * ticket); `changed`: price, stop-limit price, SL, TP or expiry differ from the last report;
 * `history`: KP_OHIST_* of a ticket no longer listed. An order placed and filled between two
 * scans is never known: its position is reported as a market open.
 */
int KpOrderChange(const bool known, const bool listed, const bool isMarket, const bool changed, const int history,
                  const bool connected, const int secondsSinceSettled, const int misses)
  {
   if(!known)
      return (listed && !isMarket) ? KP_OCHG_PLACED : KP_OCHG_NONE;
   if(listed)
      return isMarket ? KP_OCHG_FILLED : (changed ? KP_OCHG_MODIFIED : KP_OCHG_NONE);
   if(history == KP_OHIST_FILLED)
      return KP_OCHG_FILLED;
   if(history == KP_OHIST_CANCELLED)
      return KP_OCHG_CANCELLED;
   if(history == KP_OHIST_EXPIRED)
      return KP_OCHG_EXPIRED;
   int miss = KpMt4MissingDecision(connected, secondsSinceSettled, false, misses);
   return miss == KP_MISS_CLOSED_MARKET ? KP_OCHG_GONE : KP_OCHG_WAIT;
  }

/** MT5 ORDER_STATE of an order in the history as KP_OHIST_* (states as in KpPlacedOrderDecision). */
int KpMt5OrderHistory(const long state)
  {
   if(state == 3 || state == 4)
      return KP_OHIST_FILLED;
   if(state == 2 || state == 5)
      return KP_OHIST_CANCELLED;
   if(state == 6)
      return KP_OHIST_EXPIRED;
   return KP_OHIST_NONE;
  }

/** MT4: a pending ticket closed at `closeTime` (server time) with `expiration` (0: none) was deleted, or expired. */
int KpMt4OrderHistory(const bool closed, const bool isMarket, const long closeTime, const long expiration)
  {
   if(isMarket)
      return KP_OHIST_FILLED;
   if(!closed)
      return KP_OHIST_NONE;
   return (expiration > 0 && closeTime >= expiration) ? KP_OHIST_EXPIRED : KP_OHIST_CANCELLED;
  }

/** The follower's copy of a pending order the EA expires itself: delete it now. */
bool KpCopyExpiryDue(const bool eaExpiry, const long expiresAt, const long now)
  {
   return eaExpiry && expiresAt > 0 && now >= expiresAt;
  }

#endif // KOPITRA_LOGIC_MQH
