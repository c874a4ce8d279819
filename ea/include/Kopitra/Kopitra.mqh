//+------------------------------------------------------------------+
//| Kopitra/Kopitra.mqh — entry points shared by Kopitra.mq5 / .mq4    |
//|                                                                    |
//| Copy these files to <data folder>\MQL5\Include\Kopitra\ (MT5) or   |
//| <data folder>\MQL4\Include\Kopitra\ (MT4); see ea/README.md.       |
//+------------------------------------------------------------------+
#ifndef KOPITRA_MQH
#define KOPITRA_MQH

#include "Common.mqh"
#include "Json.mqh"
#include "Time.mqh"
#include "Http.mqh"
#include "State.mqh"
#include "Telemetry.mqh"
#include "Session.mqh"
#include "Trade.mqh"
#include "Follower.mqh"
#include "Master.mqh"

CKpApp   g_kp;
KpConfig g_kpConfig;
bool     g_kpStarted = false;
string   g_kpLockName = "";
double   g_kpLockId = 0;

//+------------------------------------------------------------------+
//| One EA per account per terminal: two would share the state file    |
//| and fight over the session. Terminal global variables are shared   |
//| by all programs of the terminal (https://www.mql5.com/en/docs/globals);
//| temporary ones vanish when the terminal closes. The owner refreshes |
//| a timestamp, so a crashed owner's lock expires after 2 minutes.     |
//+------------------------------------------------------------------+
bool KpAcquireLock(const string account)
  {
   g_kpLockName = "Kopitra." + account;
   string stamp = g_kpLockName + ".t";
   if(g_kpLockId == 0)
      g_kpLockId = (double)(1 + MathRand() * 32768 + MathRand());
   if(GlobalVariableCheck(g_kpLockName) && GlobalVariableGet(g_kpLockName) != g_kpLockId
      && GlobalVariableCheck(stamp) && (double)TimeLocal() - GlobalVariableGet(stamp) < 120)
      return false;
   GlobalVariableTemp(g_kpLockName);
   GlobalVariableSet(g_kpLockName, g_kpLockId);
   GlobalVariableTemp(stamp);
   GlobalVariableSet(stamp, (double)TimeLocal());
   return true;
  }

bool KpRefreshLock()
  {
   if(g_kpLockName == "")
      return true;
   if(GlobalVariableCheck(g_kpLockName) && GlobalVariableGet(g_kpLockName) != g_kpLockId)
      return false;
   GlobalVariableSet(g_kpLockName + ".t", (double)TimeLocal());
   return true;
  }

void KpReleaseLock()
  {
   if(g_kpLockName != "" && GlobalVariableCheck(g_kpLockName) && GlobalVariableGet(g_kpLockName) == g_kpLockId)
     {
      GlobalVariableDel(g_kpLockName);
      GlobalVariableDel(g_kpLockName + ".t");
     }
  }

/** Starts once the terminal knows its account (right after a terminal start it may not yet). */
bool KpTryStart()
  {
   KpConfig cfg = g_kpConfig;
   if(cfg.accountId == "")
     {
      long login = AccountInfoInteger(ACCOUNT_LOGIN);
      if(login <= 0)
        {
         KpLogThrottled("login", "waiting for the terminal to log in to its trade account", 60);
         return false;
        }
      cfg.accountId = IntegerToString(login);
     }
   if(!KpIsValidAccountId(cfg.accountId))
     {
      KpLog("input AccountId '" + cfg.accountId + "' is not valid: 1-64 letters, digits, '.', '_', ':' or '-'");
      ExpertRemove();
      return false;
     }
   if(!KpAcquireLock(cfg.accountId))
     {
      KpLog("another Kopitra EA already runs for account " + cfg.accountId + " in this terminal; remove one of them (this one stops)");
      ExpertRemove();
      return false;
     }
   if(!g_kp.Start(cfg))
     {
      ExpertRemove();
      return false;
     }
   g_kpStarted = true;
   return true;
  }

int KpOnInit(const KpConfig &cfg)
  {
   // "WebRequest() cannot be executed in the Strategy Tester" (https://www.mql5.com/en/docs/network/webrequest)
   if(MQLInfoInteger(MQL_TESTER) != 0)
     {
      KpLog("Kopitra talks to its gateway over WebRequest, which the Strategy Tester does not run; attach it to a live chart");
      return INIT_FAILED;
     }
   string url = KpTrim(cfg.gatewayUrl);
   if(StringFind(url, "http://") != 0 && StringFind(url, "https://") != 0)
     {
      KpLog("input GatewayUrl must start with https:// (or http:// for a local test gateway)");
      return INIT_PARAMETERS_INCORRECT;
     }
   if(cfg.authKey != "" && StringLen(cfg.authKey) < 16)
     {
      KpLog("input AuthKey must be at least 16 characters (or empty to let the EA generate one)");
      return INIT_PARAMETERS_INCORRECT;
     }
   MathSrand((int)(GetMicrosecondCount() % 2147483647) ^ (int)TimeLocal());
   g_kpConfig = cfg;
   g_kpConfig.gatewayUrl = url;
   g_kpConfig.authKey = KpTrim(cfg.authKey);
   g_kpConfig.accountId = KpTrim(cfg.accountId);
   g_kpConfig.pollIntervalMs = MathMax(100, MathMin(60000, cfg.pollIntervalMs));
   g_kpConfig.httpTimeoutMs = MathMax(1000, MathMin(30000, cfg.httpTimeoutMs));
   g_kpConfig.outboxWaitSec = MathMax(0, MathMin(5, cfg.outboxWaitSec));
   g_kpConfig.catalogMaxSymbols = MathMax(1, MathMin(5000, cfg.catalogMaxSymbols));
   g_kpConfig.defaultDeviationPoints = MathMax(0, cfg.defaultDeviationPoints);
   // One timer drives everything (https://www.mql5.com/en/docs/eventfunctions/eventsetmillisecondtimer).
   if(!EventSetMillisecondTimer(g_kpConfig.pollIntervalMs))
     {
      KpLog(StringFormat("cannot start the timer (error %d)", GetLastError()));
      return INIT_FAILED;
     }
   KpTryStart();
   return INIT_SUCCEEDED;
  }

void KpOnDeinit(const int reason)
  {
   EventKillTimer();
   if(g_kpStarted)
      g_kp.Deinit(reason);
   KpReleaseLock();
   g_kpStarted = false;
  }

void KpOnTimer()
  {
   if(!g_kpStarted)
     {
      KpTryStart();
      return;
     }
   if(!KpRefreshLock())
     {
      KpLog("another Kopitra EA took over this account's lock in this terminal; this one stops");
      ExpertRemove();
      return;
     }
   g_kp.Timer();
  }

#ifdef __MQL5__
void KpOnTradeTransaction(const MqlTradeTransaction &trans)
  {
   if(g_kpStarted)
      g_kp.OnTransaction(trans);
  }
#endif

#endif // KOPITRA_MQH
