//+------------------------------------------------------------------+
//| Kopitra/Time.mqh — ISO-8601 UTC times, clocks                      |
//|                                                                    |
//| The protocol's times are ISO-8601 UTC ("2026-01-05T09:00:00Z").     |
//| MQL's TimeToString gives "2026.01.05 09:00:00" and MetaTrader's     |
//| deal/order times are TRADE SERVER time, not UTC. Three clocks:      |
//|  * TimeGMT(): UTC from the PC clock (may be off by minutes)         |
//|    https://www.mql5.com/en/docs/dateandtime/timegmt                 |
//|  * the gateway's clock, read from the HTTP "Date" header of every   |
//|    response; KpNowUtc() = TimeGMT() corrected by that skew, used    |
//|    for expiresAt checks and for event times.                        |
//|  * server time (TimeTradeServer() in MT5, TimeCurrent() in MT4):    |
//|    its offset from UTC is rounded to 15 minutes to convert deal     |
//|    and order times (KpServerToUtc).                                 |
//+------------------------------------------------------------------+
#ifndef KOPITRA_TIME_MQH
#define KOPITRA_TIME_MQH

#include "Common.mqh"

int g_kpClockSkew = 0;   // gateway UTC minus TimeGMT(), seconds
bool g_kpSkewWarned = false;

/** "2026-01-05T09:00:00Z" */
string KpIso(const datetime t)
  {
   MqlDateTime d;
   TimeToStruct(t, d);
   return StringFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.mon, d.day, d.hour, d.min, d.sec);
  }

/** "2026-01-05T09:00:00.123Z" from milliseconds since 1970 (e.g. DEAL_TIME_MSC converted to UTC). */
string KpIsoMsc(const long msc)
  {
   MqlDateTime d;
   TimeToStruct((datetime)(msc / 1000), d);
   return StringFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", d.year, d.mon, d.day, d.hour, d.min, d.sec, (int)(msc % 1000));
  }

/** ISO-8601 with a zone (Logic.mqh: KpParseIsoSeconds) into a UTC datetime. */
bool KpParseIso(const string s, datetime &out)
  {
   long v = 0;
   if(!KpParseIsoSeconds(s, v))
      return false;
   out = (datetime)v;
   return true;
  }

/** An RFC 7231 HTTP date (Logic.mqh: KpParseHttpDateSeconds). */
bool KpParseHttpDate(const string s, datetime &out)
  {
   long v = 0;
   if(!KpParseHttpDateSeconds(s, v))
      return false;
   out = (datetime)v;
   return true;
  }

/** Learns the gateway's clock from the response headers of WebRequest ("Name: value" lines). */
void KpClockFromHeaders(const string headers)
  {
   string lines[];
   int n = StringSplit(headers, '\n', lines);
   for(int i = 0; i < n; i++)
     {
      string line = KpTrim(lines[i]);
      if(StringLen(line) > 5 && StringCompare(StringSubstr(line, 0, 5), "Date:", false) == 0)
        {
         datetime gw;
         if(KpParseHttpDate(StringSubstr(line, 5), gw))
           {
            g_kpClockSkew = (int)(gw - TimeGMT());
            if(MathAbs(g_kpClockSkew) > 30 && !g_kpSkewWarned)
              {
               KpLog(StringFormat("this computer's clock is %d s off the gateway's; Kopitra uses the gateway's clock for expiry checks. Synchronise the Windows clock.", g_kpClockSkew));
               g_kpSkewWarned = true;
              }
           }
         return;
        }
     }
  }

/** Current UTC time, corrected by the gateway's clock when known. */
datetime KpNowUtc()
  {
   return TimeGMT() + g_kpClockSkew;
  }

string KpNowIso()
  {
   return KpIso(KpNowUtc());
  }

long g_kpServerOffset = -1;      // last offset learnt from a fresh server clock, -1 = none yet
#ifdef __MQL4__
datetime g_kpLastQuoteTime = 0;  // TimeCurrent() when first seen in this run
bool     g_kpQuoteMoved = false; // a quote arrived during this run: TimeCurrent() is live
#endif

/**
 * Offset of the trade server's clock from UTC, rounded to 15 minutes (Logic.mqh:
 * KpServerOffsetSec). MT5's TimeTradeServer() is always current. MT4 has only TimeCurrent(),
 * the time of the last quote — days old after a weekend restart — so it is trusted only once a
 * quote has arrived during this run; until then the last offset learnt is used.
 */
int KpServerUtcOffset()
  {
#ifdef __MQL5__
   datetime server = TimeTradeServer();   // https://www.mql5.com/en/docs/dateandtime/timetradeserver
   bool fresh = true;
#else
   datetime server = TimeCurrent();       // last quote's server time: https://docs.mql4.com/dateandtime/timecurrent
   if(g_kpLastQuoteTime == 0)
      g_kpLastQuoteTime = server;
   else if(server != g_kpLastQuoteTime)
      g_kpQuoteMoved = true;
   bool fresh = g_kpQuoteMoved;
#endif
   long offset = KpServerOffsetSec((long)server, (long)TimeGMT(), fresh, g_kpServerOffset);
   if(fresh)
      g_kpServerOffset = offset;
   return (int)offset;
  }

datetime KpServerToUtc(const datetime serverTime)
  {
   return serverTime - KpServerUtcOffset();
  }

/** A UTC time as the trade server's clock shows it (order expirations are in server time). */
datetime KpUtcToServer(const datetime utc)
  {
   return utc + KpServerUtcOffset();
  }

long KpServerMscToUtcMsc(const long serverMsc)
  {
   return serverMsc - (long)KpServerUtcOffset() * 1000;
  }

#endif // KOPITRA_TIME_MQH
