//+------------------------------------------------------------------+
//|                                                    Kopitra.mq5   |
//| Kopitra copy-trading EA for MetaTrader 5 (master or follower).    |
//| Install: ea/README.md. Protocol: docs/ea-protocol.md.             |
//+------------------------------------------------------------------+
#property copyright   "Kopitra contributors"
#property version     "1.00"
#property description "Kopitra copy trading: a master reports its trades, a follower executes the copies."
#property description "Allow the gateway URL in Tools > Options > Expert Advisors > 'Allow WebRequest for listed URL'."

#include <Kopitra\Kopitra.mqh>

input string       InpGatewayUrl        = "https://kopitra.example.com"; // Gateway URL (https://host or https://host/trade-agent/v1)
input string       InpAccountId         = "";        // Account id (empty: this terminal's login)
input string       InpAuthKey           = "";        // Key, at least 16 chars (empty: generate one, an operator approves it)
input ENUM_KP_ROLE InpRole              = KP_ROLE_FOLLOWER; // Role
input int          InpPollIntervalMs    = 1000;      // Polling interval, ms (timer period; outbox poll)
input int          InpMagic             = 7191;      // Magic number of the follower's orders
input int          InpHeartbeatSec      = 0;         // Heartbeat interval override, s (0: the gateway's)
input int          InpDeviationPoints   = 30;        // Max deviation, points, when the gateway sends no maxSlippage
input int          InpSnapshotSec       = 300;       // Follower: sync snapshot every N s (0: only on request)
input int          InpHttpTimeoutMs     = 5000;      // HTTP timeout, ms (WebRequest blocks the EA meanwhile)
input int          InpOutboxWaitSec     = 0;         // Outbox long-poll wait, s (0-5; keep 0, see README)
input int          InpCatalogMaxSymbols = 2000;      // Max Market Watch symbols in the symbol catalog

int OnInit()
  {
   KpConfig cfg;
   cfg.gatewayUrl = InpGatewayUrl;
   cfg.accountId = InpAccountId;
   cfg.authKey = InpAuthKey;
   cfg.role = InpRole;
   cfg.pollIntervalMs = InpPollIntervalMs;
   cfg.magic = InpMagic;
   cfg.heartbeatOverrideSec = InpHeartbeatSec;
   cfg.defaultDeviationPoints = InpDeviationPoints;
   cfg.snapshotIntervalSec = InpSnapshotSec;
   cfg.httpTimeoutMs = InpHttpTimeoutMs;
   cfg.outboxWaitSec = InpOutboxWaitSec;
   cfg.catalogMaxSymbols = InpCatalogMaxSymbols;
   return KpOnInit(cfg);
  }

void OnDeinit(const int reason)
  {
   KpOnDeinit(reason);
  }

void OnTimer()
  {
   KpOnTimer();
  }

// Master: every deal (manual, EA, SL/TP, stop-out) and every SL/TP change arrives here.
// https://www.mql5.com/en/docs/event_handlers/ontradetransaction
void OnTradeTransaction(const MqlTradeTransaction &trans, const MqlTradeRequest &request, const MqlTradeResult &result)
  {
   KpOnTradeTransaction(trans);
  }
