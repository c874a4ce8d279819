//+------------------------------------------------------------------+
//| Kopitra/Common.mqh — version, roles, logging, small helpers       |
//| Shared by Kopitra.mq5 (MT5) and Kopitra.mq4 (MT4).                 |
//+------------------------------------------------------------------+
#ifndef KOPITRA_COMMON_MQH
#define KOPITRA_COMMON_MQH

#include "Logic.mqh"

#define KP_EA_VERSION      "1.2.0"
#define KP_BASE_PATH       "/trade-agent/v1"
#define KP_PLACED_PREFIX   "order:"   // journal: an open answered PLACED, waiting on that exchange order

#ifdef __MQL5__
   #define KP_MAGIC_UNSIGNED true
   #define KP_PLATFORM     "MT5"
   #define KP_FILES_DIR    "MQL5\\Files\\"
#else
   #define KP_MAGIC_UNSIGNED false
   #define KP_PLATFORM     "MT4"
   #define KP_FILES_DIR    "MQL4\\Files\\"
#endif

//--- Conditional compilation: __MQL5__ / __MQL4__ are predefined by the respective compilers
//    (https://docs.mql4.com/basis/preprosessor/conditional_compilation).

enum ENUM_KP_ROLE
  {
   KP_ROLE_MASTER   = 0, // Master: report this terminal's trades
   KP_ROLE_FOLLOWER = 1  // Follower: execute what the gateway sends
  };

//+------------------------------------------------------------------+
//| Configuration, filled from the inputs of the .mq5/.mq4 file       |
//+------------------------------------------------------------------+
struct KpConfig
  {
   string            gatewayUrl;        // base URL incl. /trade-agent/v1
   string            accountId;
   string            authKey;           // empty: generate and persist one
   ENUM_KP_ROLE      role;
   int               pollIntervalMs;
   int               magic;
   int               heartbeatOverrideSec; // 0: use the gateway's heartbeatIntervalSec
   int               defaultDeviationPoints;
   int               snapshotIntervalSec;
   int               httpTimeoutMs;
   int               outboxWaitSec;
   int               catalogMaxSymbols;
  };

//+------------------------------------------------------------------+
//| Logging. Every line starts with "Kopitra:" so it can be filtered  |
//| in the Experts tab. KpLogThrottled prints a message with a given  |
//| key at most once per `seconds` (for conditions that repeat on     |
//| every timer tick, e.g. an unreachable gateway).                   |
//+------------------------------------------------------------------+
string   g_kpLogKeys[];
datetime g_kpLogTimes[];

void KpLog(const string message)
  {
   Print("Kopitra: ", message);
  }

void KpLogThrottled(const string key, const string message, const int seconds)
  {
   datetime now = TimeLocal();
   int n = ArraySize(g_kpLogKeys);
   for(int i = 0; i < n; i++)
     {
      if(g_kpLogKeys[i] == key)
        {
         if(now - g_kpLogTimes[i] < seconds)
            return;
         g_kpLogTimes[i] = now;
         KpLog(message);
         return;
        }
     }
   ArrayResize(g_kpLogKeys, n + 1);
   ArrayResize(g_kpLogTimes, n + 1);
   g_kpLogKeys[n] = key;
   g_kpLogTimes[n] = now;
   KpLog(message);
  }

/** Forget a throttled key so the next occurrence prints at once (e.g. after recovery). */
void KpLogReset(const string key)
  {
   int n = ArraySize(g_kpLogKeys);
   for(int i = 0; i < n; i++)
      if(g_kpLogKeys[i] == key)
         g_kpLogTimes[i] = 0;
  }

//+------------------------------------------------------------------+
//| Array helpers (function templates exist in MQL4 and MQL5:         |
//| https://docs.mql4.com/basis/oop/templates)                        |
//+------------------------------------------------------------------+
template<typename T>
void KpPush(T &arr[], T value)
  {
   int n = ArraySize(arr);
   ArrayResize(arr, n + 1, 16);
   arr[n] = value;
  }

template<typename T>
void KpRemoveAt(T &arr[], const int index)
  {
   int n = ArraySize(arr);
   if(index < 0 || index >= n)
      return;
   for(int i = index; i < n - 1; i++)
      arr[i] = arr[i + 1];
   ArrayResize(arr, n - 1);
  }

//+------------------------------------------------------------------+
//| Numbers and tickets                                               |
//+------------------------------------------------------------------+
/** Tickets travel as JSON strings: MT5 tickets are 64-bit and JavaScript numbers are exact only to 2^53. */
string KpTicketStr(const long ticket)
  {
   return IntegerToString(ticket);
  }

bool KpIsZero(const double v)
  {
   return MathAbs(v) < 1e-9;
  }

/** Rounds a volume to 8 decimals so sums of lots compare cleanly. */
double KpVol(const double v)
  {
   return NormalizeDouble(v, 8);
  }

/** Number of decimals of a step such as 0.01 → 2, 0.1 → 1, 1 → 0. */
int KpStepDigits(const double step)
  {
   for(int d = 0; d <= 8; d++)
      if(MathAbs(step * MathPow(10, d) - MathRound(step * MathPow(10, d))) < 1e-7)
         return d;
   return 8;
  }

/** True when every character of s is printable ASCII 0x21..0x7E (Idempotency-Key, account id). */
bool KpIsPrintableAscii(const string s)
  {
   int n = StringLen(s);
   if(n == 0)
      return false;
   for(int i = 0; i < n; i++)
     {
      ushort c = StringGetCharacter(s, i);
      if(c < 0x21 || c > 0x7E)
         return false;
     }
   return true;
  }

/** Account ids accepted by the gateway: 1-64 of letters, digits, . _ : - */
bool KpIsValidAccountId(const string s)
  {
   int n = StringLen(s);
   if(n < 1 || n > 64)
      return false;
   for(int i = 0; i < n; i++)
     {
      ushort c = StringGetCharacter(s, i);
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == ':' || c == '-';
      if(!ok)
         return false;
     }
   return true;
  }

/** Random hex string (MathRand is seeded in OnInit with MathSrand). */
string KpRandomHex(const int length)
  {
   string hex = "0123456789abcdef";
   string out = "";
   for(int i = 0; i < length; i++)
      out += StringSubstr(hex, MathRand() % 16, 1);
   return out;
  }

/** A short suffix unique within this terminal (for ids of events that have no natural ticket). */
long g_kpUniqueCounter = 0;
string KpUniqueSuffix()
  {
   g_kpUniqueCounter++;
   return IntegerToString((long)TimeGMT()) + IntegerToString(g_kpUniqueCounter) + KpRandomHex(4);
  }

#endif // KOPITRA_COMMON_MQH
