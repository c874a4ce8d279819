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

int KpDigitsAt(const string s, const int start, const int count, bool &ok)
  {
   int v = 0;
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

/** Parses ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" into a UTC datetime (fractions are dropped). */
bool KpParseIso(const string s, datetime &out)
  {
   if(StringLen(s) < 19)
      return false;
   bool ok = true;
   MqlDateTime d;
   ZeroMemory(d);
   d.year = KpDigitsAt(s, 0, 4, ok);
   d.mon  = KpDigitsAt(s, 5, 2, ok);
   d.day  = KpDigitsAt(s, 8, 2, ok);
   d.hour = KpDigitsAt(s, 11, 2, ok);
   d.min  = KpDigitsAt(s, 14, 2, ok);
   d.sec  = KpDigitsAt(s, 17, 2, ok);
   if(!ok || StringGetCharacter(s, 4) != '-' || StringGetCharacter(s, 7) != '-' || StringGetCharacter(s, 13) != ':')
      return false;
   int i = 19;
   int n = StringLen(s);
   if(i < n && StringGetCharacter(s, i) == '.')
     {
      i++;
      while(i < n && StringGetCharacter(s, i) >= '0' && StringGetCharacter(s, i) <= '9')
         i++;
     }
   int offset = 0;
   if(i < n)
     {
      ushort z = StringGetCharacter(s, i);
      if(z == '+' || z == '-')
        {
         int oh = KpDigitsAt(s, i + 1, 2, ok);
         int pos = i + 3;
         if(pos < n && StringGetCharacter(s, pos) == ':')
            pos++;
         int om = (pos + 2 <= n) ? KpDigitsAt(s, pos, 2, ok) : 0;
         if(!ok)
            return false;
         offset = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
        }
      else if(z != 'Z' && z != 'z')
         return false;
     }
   out = StructToTime(d) - offset;
   return true;
  }

/** Parses an RFC 7231 HTTP date: "Mon, 05 Jan 2026 09:00:00 GMT". */
bool KpParseHttpDate(const string s, datetime &out)
  {
   string months = "JanFebMarAprMayJunJulAugSepOctNovDec";
   int comma = StringFind(s, ",");
   if(comma < 0)
      return false;
   string rest = KpTrim(StringSubstr(s, comma + 1)); // "05 Jan 2026 09:00:00 GMT"
   if(StringLen(rest) < 20)
      return false;
   bool ok = true;
   MqlDateTime d;
   ZeroMemory(d);
   d.day = KpDigitsAt(rest, 0, 2, ok);
   int m = StringFind(months, StringSubstr(rest, 3, 3));
   if(m < 0 || m % 3 != 0)
      return false;
   d.mon = m / 3 + 1;
   d.year = KpDigitsAt(rest, 7, 4, ok);
   d.hour = KpDigitsAt(rest, 12, 2, ok);
   d.min = KpDigitsAt(rest, 15, 2, ok);
   d.sec = KpDigitsAt(rest, 18, 2, ok);
   if(!ok)
      return false;
   out = StructToTime(d);
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

/**
 * Offset of the trade server's clock from UTC, rounded to 15 minutes (all real time zones are
 * multiples of 15 min, so PC-clock error under 7.5 min does not matter).
 */
int KpServerUtcOffset()
  {
#ifdef __MQL5__
   datetime server = TimeTradeServer();   // https://www.mql5.com/en/docs/dateandtime/timetradeserver
#else
   datetime server = TimeCurrent();       // last quote's server time: https://docs.mql4.com/dateandtime/timecurrent
#endif
   long diff = (long)server - (long)TimeGMT();
   return (int)(MathRound((double)diff / 900.0) * 900.0);
  }

datetime KpServerToUtc(const datetime serverTime)
  {
   return serverTime - KpServerUtcOffset();
  }

long KpServerMscToUtcMsc(const long serverMsc)
  {
   return serverMsc - (long)KpServerUtcOffset() * 1000;
  }

#endif // KOPITRA_TIME_MQH
