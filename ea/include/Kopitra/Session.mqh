//+------------------------------------------------------------------+
//| Kopitra/Session.mqh — session, queue, heartbeats, outbox polling   |
//|                                                                    |
//| CKpClient speaks the EA ⇄ gateway protocol (SPEC §2,               |
//| docs/ea-protocol.md): creates and re-creates the session, sends    |
//| ea.init / heartbeats / status, flushes the persisted request queue |
//| in order, polls the outbox and acknowledges what it handled. The   |
//| role-specific work (master capture, follower execution) lives in   |
//| CKpApp (Kopitra.mqh), which overrides the virtual hooks.           |
//| Everything runs from OnTimer: MQL has one thread per EA and        |
//| WebRequest blocks it.                                              |
//+------------------------------------------------------------------+
#ifndef KOPITRA_SESSION_MQH
#define KOPITRA_SESSION_MQH

#include "Common.mqh"
#include "Json.mqh"
#include "Time.mqh"
#include "Http.mqh"
#include "State.mqh"
#include "Telemetry.mqh"

#define KP_EVENT_DONE   0   // handled: acknowledge and move the cursor
#define KP_EVENT_LATER  1   // not now (e.g. AutoTrading off): stop here, no ack, poll again later
#define KP_EVENT_STOP   2   // session.shutdown: acknowledge, then stop

enum ENUM_KP_CONN
  {
   KP_CONN_DISCONNECTED = 0,  // no session; create one when due
   KP_CONN_RESUMING,          // token from the state file; the first poll tells whether it is still valid
   KP_CONN_PENDING,           // session awaits operator approval
   KP_CONN_AUTHENTICATED,
   KP_CONN_STOPPED            // after session.shutdown (takeover / rejected / disabled / terminated)
  };

class CKpClient
  {
protected:
   KpConfig          m_cfg;
   CKpHttp           m_http;
   CKpState          m_state;
   ENUM_KP_CONN      m_conn;
   string            m_authKey;
   bool              m_keyGenerated;
   string            m_createKey;        // Idempotency-Key of the current create attempt (reused on retry)
   int               m_connectFailures;
   int               m_queueFailures;
   ulong             m_nextConnectAtMs;
   ulong             m_nextHeartbeatAtMs;
   ulong             m_nextPollAtMs;
   ulong             m_nextSnapshotAtMs;
   ulong             m_queueRetryAtMs;
   ulong             m_stoppedUntilMs;   // 0 = stopped until the EA is re-attached
   bool              m_initPending;
   bool              m_autotradeKnown;
   bool              m_autotrade;
   bool              m_transportDown;
   ulong             m_transportRetryAtMs;  // while the gateway is unreachable, requests wait until then
   int               m_transportFailures;
   bool              m_fetchingShutdown;
   bool              m_shutdownFetchDue; // 401 session_terminated: read session.shutdown on the next tick
   string            m_lastError;

   ulong             NowMs(void) { return GetMicrosecondCount() / 1000; }
   int               HeartbeatSec(void)
     {
      if(m_cfg.heartbeatOverrideSec > 0)
         return m_cfg.heartbeatOverrideSec;
      return m_state.heartbeatSec > 0 ? m_state.heartbeatSec : 30;
     }
   bool              Live(void) { return m_conn == KP_CONN_PENDING || m_conn == KP_CONN_AUTHENTICATED || m_conn == KP_CONN_RESUMING; }
   string            RoleName(void) { return m_cfg.role == KP_ROLE_MASTER ? "master" : "follower"; }
   string            ConnName(void)
     {
      if(m_conn == KP_CONN_AUTHENTICATED) return "authenticated";
      if(m_conn == KP_CONN_PENDING) return "pending_approval";
      if(m_conn == KP_CONN_RESUMING) return "resuming";
      if(m_conn == KP_CONN_STOPPED) return "stopped";
      return "disconnected";
     }

   //--- hooks for CKpApp
   virtual void      BeforeFlush(void) {}
   virtual int       HandleTradeEvent(const string type, const string eventId, CKpJson *payload) { return KP_EVENT_DONE; }
   virtual void      OnSessionStarted(void) {}

public:
                     CKpClient(void)
     {
      m_conn = KP_CONN_DISCONNECTED;
      m_keyGenerated = false;
      m_connectFailures = 0;
      m_queueFailures = 0;
      m_nextConnectAtMs = 0;
      m_nextHeartbeatAtMs = 0;
      m_nextPollAtMs = 0;
      m_nextSnapshotAtMs = 0;
      m_queueRetryAtMs = 0;
      m_stoppedUntilMs = 0;
      m_initPending = false;
      m_autotradeKnown = false;
      m_autotrade = false;
      m_transportDown = false;
      m_transportRetryAtMs = 0;
      m_transportFailures = 0;
      m_fetchingShutdown = false;
      m_shutdownFetchDue = false;
      m_lastError = "";
     }
   virtual          ~CKpClient(void) {}

   /** SHA-256 fingerprint as the gateway shows it to operators (secrets.ts: first 24 hex chars). */
   static string     KeyFingerprint(const string account, const string key)
     {
      uchar data[], nokey[], hash[];
      int n = StringToCharArray("kopitra-key-fingerprint\n" + account + "\n" + key, data, 0, WHOLE_ARRAY, CP_UTF8);
      if(n > 0 && data[n - 1] == 0)
         n--;
      ArrayResize(data, n);
      // https://www.mql5.com/en/docs/common/cryptencode (CRYPT_HASH_SHA256; the key array is ignored for hashes)
      if(CryptEncode(CRYPT_HASH_SHA256, data, nokey, hash) <= 0)
         return "";
      string hex = "";
      for(int i = 0; i < ArraySize(hash) && StringLen(hex) < 24; i++)
         hex += StringFormat("%02x", hash[i]);
      return StringSubstr(hex, 0, 24);
     }

   /** A key the EA generates when none is configured: SHA-256 over several entropy sources. */
   static string     GenerateKey(void)
     {
      string material = "";
      for(int i = 0; i < 16; i++)
         material += IntegerToString((long)GetMicrosecondCount()) + ":" + IntegerToString(MathRand()) + ";";
      material += TerminalInfoString(TERMINAL_DATA_PATH) + IntegerToString(ChartID()) + IntegerToString((long)TimeLocal()) + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN));
      uchar data[], nokey[], hash[];
      int n = StringToCharArray(material, data, 0, WHOLE_ARRAY, CP_UTF8);
      ArrayResize(data, n > 0 ? n - 1 : 0);
      string hex = "";
      if(CryptEncode(CRYPT_HASH_SHA256, data, nokey, hash) > 0)
         for(int i = 0; i < ArraySize(hash); i++)
            hex += StringFormat("%02x", hash[i]);
      if(StringLen(hex) < 40)
         hex = KpRandomHex(40);
      return "kp_" + StringSubstr(hex, 0, 40);
     }

   bool              Init(const KpConfig &cfg);

   /** Called from OnDeinit. The lease is released when the EA goes away for good. */
   void              Deinit(const int reason);

   //--- queueing -----------------------------------------------------------------------------
   void              EnqueueRequest(const string kind, const string path, const string body, const string key, const string label, const bool needsAuth, const bool persist);
   /** One inbox event (its JSON object) as its own request. */
   void              EnqueueInboxEvent(const string eventJson, const string label, const bool needsAuth, const bool persist);
   bool              HasQueued(const string label);
   void              QueueSnapshot(const string why);
   void              QueueCatalog(void);
   void              QueueError(const string code, const string message);

   //--- HTTP with the protocol's common error handling --------------------------------------
   void              Request(const string method, const string path, const string body, const string key, KpResponse &r, const int timeoutMs = 0);
   void              Disconnect(const int delaySec);
   void              HandleUnauthorized(KpResponse &r);

   //--- session creation ---------------------------------------------------------------------
   void              Connect(void);
   void              Backoff(void);

   //--- telemetry -----------------------------------------------------------------------------
   bool              PostInbox(const string eventsJson, const string label);
   void              SendInit(void);
   void              SendHeartbeat(void);
   void              CheckAutotrade(void);

   //--- the request queue ----------------------------------------------------------------------
   void              FlushQueue(void);

   /** Log line for accepted requests whose answer matters to the trader. */
   virtual void      OnQueuedAccepted(CKpOut *q, KpResponse &r);

   //--- the outbox -------------------------------------------------------------------------------
   void              PollOutbox(void);
   int               Dispatch(const string type, const string eventId, CKpJson *payload);
   void              ApplyShutdown(CKpJson *p);

   //--- the timer ------------------------------------------------------------------------------------
   void              Timer(void);
  };

//+------------------------------------------------------------------+
//| CKpClient implementation                                          |
//+------------------------------------------------------------------+
bool CKpClient::Init(const KpConfig &cfg)
  {
   // A symbol/timeframe change calls OnDeinit + OnInit without reloading the program, so
   // globals keep their values: start from a clean runtime state every time.
   m_conn = KP_CONN_DISCONNECTED;
   m_createKey = "";
   m_connectFailures = 0;
   m_queueFailures = 0;
   m_nextConnectAtMs = 0;
   m_nextHeartbeatAtMs = 0;
   m_nextPollAtMs = 0;
   m_nextSnapshotAtMs = 0;
   m_queueRetryAtMs = 0;
   m_stoppedUntilMs = 0;
   m_initPending = false;
   m_autotradeKnown = false;
   m_transportDown = false;
   m_transportRetryAtMs = 0;
   m_transportFailures = 0;
   m_fetchingShutdown = false;
   m_shutdownFetchDue = false;
   m_lastError = "";
   m_cfg = cfg;
   m_http.Setup(cfg.gatewayUrl, cfg.accountId, cfg.httpTimeoutMs);
   m_state.Init(cfg.accountId, RoleName());
   bool loaded = m_state.Load();
   // The state (cursor, token, queue, journal, master book) belongs to one trade account: after
   // a login switch it would put copies on the wrong account.
   long login = AccountInfoInteger(ACCOUNT_LOGIN);
   string server = AccountInfoString(ACCOUNT_SERVER);
   // Not logged in yet (login 0): decided on the first timer tick that knows the login.
   int identity = login > 0 ? KpIdentityDecision(m_state.login, m_state.server, login, server) : KP_ID_SAME;
   if(identity == KP_ID_CHANGED)
     {
      KpLog(StringFormat("account %s was used with login %I64d on %s, but this terminal is logged in as %I64d on %s. This EA stops: attach it with the AccountId of this login (or delete %s to start this account afresh).",
                         cfg.accountId, m_state.login, m_state.server, login, server, m_state.fileName));
      return false;
     }
   if(identity == KP_ID_ADOPT)
     {
      m_state.login = login;
      m_state.server = server;
     }
   if(cfg.authKey != "")
     {
      m_authKey = cfg.authKey;
      m_keyGenerated = false;
     }
   else
     {
      if(m_state.authKey == "")
        {
         m_state.authKey = GenerateKey();
         KpLog("no key configured: generated one for this terminal (kept in " + m_state.fileName + "). An operator must approve it in the Kopitra console.");
        }
      m_authKey = m_state.authKey;
      m_keyGenerated = true;
     }
   if(StringLen(m_authKey) < 16)
     {
      KpLog("the key (input AuthKey) must be at least 16 characters; the gateway refuses shorter keys");
      return false;
     }
   KpLog(StringFormat("%s %s for account %s via %s (key fingerprint %s)", KP_PLATFORM, RoleName(), cfg.accountId, m_http.Base(), KeyFingerprint(cfg.accountId, m_authKey)));
   if(loaded && m_state.token != "")
     {
      m_http.SetToken(m_state.token);
      m_conn = KP_CONN_RESUMING;
      KpLog(StringFormat("resuming session %s from the saved state; %d request(s) waiting to be sent", m_state.sessionId, ArraySize(m_state.queue)));
     }
   else if(ArraySize(m_state.queue) > 0)
      KpLog(StringFormat("%d request(s) saved before the restart will be sent once connected", ArraySize(m_state.queue)));
   m_state.Save();
   return true;
  }

void CKpClient::Deinit(const int reason)
  {
   bool leaving = (reason == REASON_REMOVE || reason == REASON_CHARTCLOSE || reason == REASON_CLOSE
                   || reason == REASON_PARAMETERS || reason == REASON_ACCOUNT || reason == REASON_PROGRAM);
   if(leaving && m_http.Token() != "" && Live())
     {
      // OnDeinit is limited (2.5 s in MT4: https://docs.mql4.com/runtime/event_fire) → short timeout.
      // POST alias of DELETE /sessions/current: WebRequest documents only GET, POST and HEAD.
      KpResponse r;
      m_http.Send("POST", "/sessions/current/release", "", m_http.NewKey("release"), r, 1500);
      if(r.status == 200 || r.status == 401)
        {
         KpLog(r.status == 200 ? "session released" : "session already ended");
         m_http.SetToken("");
         m_state.token = "";
         m_state.sessionId = "";
        }
      else
         // Keep the token: the next start resumes this session instead of meeting 409
         // session_conflict until its lease lapses.
         KpLog(StringFormat("session not released (%d %s); the next start resumes it", r.status, r.error));
     }
   m_state.Save();
  }

void CKpClient::EnqueueRequest(const string kind, const string path, const string body, const string key, const string label, const bool needsAuth, const bool persist)
  {
   CKpOut *q = new CKpOut();
   q.method = "POST";
   q.path = path;
   q.body = body;
   q.key = key;
   q.label = label;
   q.kind = kind;
   q.needsAuth = needsAuth;
   q.persist = persist;
   m_state.Enqueue(q);
   if(persist)
      m_state.Save();
  }

void CKpClient::EnqueueInboxEvent(const string eventJson, const string label, const bool needsAuth, const bool persist)
  {
   EnqueueRequest("inbox", "/sessions/current/inbox", "{\"events\":[" + eventJson + "]}", m_http.NewKey("inbox"), label, needsAuth, persist);
  }

bool CKpClient::HasQueued(const string label)
  {
   for(int i = 0; i < ArraySize(m_state.queue); i++)
      if(m_state.queue[i].label == label)
         return true;
   return false;
  }

void CKpClient::QueueSnapshot(const string why)
  {
   if(HasQueued("ea.sync_snapshot"))
      return;
   int count = 0;
   string body = KpBuildSnapshotBody(count);
   EnqueueRequest("inbox", "/sessions/current/inbox", body, m_http.NewKey("snapshot"), "ea.sync_snapshot", true, false);
   KpLog(StringFormat("sync snapshot queued (%s): %d position(s)", why, count));
  }

void CKpClient::QueueCatalog(void)
  {
   if(HasQueued("ea.symbol_catalog"))
      return;
   int count = 0;
   string body = KpBuildCatalogBody(m_cfg.catalogMaxSymbols, count);
   EnqueueRequest("inbox", "/sessions/current/inbox", body, m_http.NewKey("catalog"), "ea.symbol_catalog", true, false);
   KpLog(StringFormat("symbol catalog queued: %d Market Watch symbol(s)", count));
  }

void CKpClient::QueueError(const string code, const string message)
  {
   CKpJsonWriter w;
   KpWriteError(w, code, message);
   EnqueueInboxEvent(w.Text(), "ea.error", false, false);
  }

void CKpClient::Request(const string method, const string path, const string body, const string key, KpResponse &r, const int timeoutMs)
  {
   if(m_transportDown && NowMs() < m_transportRetryAtMs)
     {
      // Gateway unreachable: every WebRequest would block the EA for the whole timeout.
      r.status = -1;
      r.lastError = 0;
      r.body = "";
      r.error = "";
      r.message = "";
      r.retryAfterSec = -1;
      return;
     }
   m_http.Send(method, path, body, key, r, timeoutMs);
   if(r.status == -1)
     {
      m_lastError = m_http.DescribeTransportError(r.lastError);
      m_transportDown = true;
      m_transportFailures++;
      m_transportRetryAtMs = NowMs() + (ulong)(1000.0 * MathMin(30.0, MathPow(2.0, (double)MathMin(m_transportFailures, 5))));
      KpLogThrottled("transport", m_lastError, 60);
      return;
     }
   m_transportFailures = 0;
   if(m_transportDown)
     {
      m_transportDown = false;
      KpLogReset("transport");
      KpLog("gateway reachable again");
     }
   if(r.status == 401)
      HandleUnauthorized(r);
   else if(r.status == 403 && r.error == "session_pending" && m_conn == KP_CONN_AUTHENTICATED)
      m_conn = KP_CONN_PENDING;
  }

void CKpClient::Disconnect(const int delaySec)
  {
   m_http.SetToken("");
   m_state.token = "";
   m_state.sessionId = "";
   m_conn = KP_CONN_DISCONNECTED;
   m_createKey = "";
   m_nextConnectAtMs = NowMs() + (ulong)MathMax(0, delaySec) * 1000;
   m_state.Save();
  }

void CKpClient::HandleUnauthorized(KpResponse &r)
  {
   if(!Live())
      return;
   if(r.error == "session_terminated" && !m_fetchingShutdown)
     {
      // An ended session may still fetch and acknowledge its own session.shutdown once: read
      // it, so a takeover does not make us take the account straight back. Not from here:
      // this runs inside whatever request got the 401 (FlushQueue holds the queue head), so
      // the poll is deferred to the start of the next timer tick.
      if(!m_shutdownFetchDue)
         KpLog("the gateway ended this session (session_terminated); reading its shutdown notice");
      m_shutdownFetchDue = true;
      return;
     }
   if(r.error == "session_expired")
      KpLog("session expired: the gateway missed 3 heartbeats (terminal asleep, network down or EA blocked); creating a new session");
   else
      KpLog(StringFormat("%s (%s): creating a new session", r.error == "" ? "401" : r.error, r.message));
   Disconnect(0);
  }

void CKpClient::Connect(void)
  {
   if(m_createKey == "")
      m_createKey = m_http.NewKey("session");
   CKpJsonWriter w;
   w.BeginObject();
   w.Str("authMethod", "account_session_key");
   w.Str("authKey", m_authKey);
   w.Str("platform", KP_PLATFORM);
   w.Str("role", RoleName());
   w.Str("eaVersion", KP_EA_VERSION);
   w.Int("terminalBuild", TerminalInfoInteger(TERMINAL_BUILD));
   w.Str("broker", StringSubstr(AccountInfoString(ACCOUNT_COMPANY), 0, 128));
   w.Str("server", StringSubstr(AccountInfoString(ACCOUNT_SERVER), 0, 128));
   w.EndObject();
   m_http.SetToken("");
   KpResponse r;
   m_http.Send("POST", "/sessions", w.Text(), m_createKey, r);
   if(r.status == 201)
     {
      CKpJson doc;
      string err;
      if(!doc.Parse(r.body, err) || doc.GetString("token") == "")
        {
         KpLog("unexpected answer to POST /sessions (" + err + "): " + StringSubstr(r.body, 0, 300));
         Backoff();
         return;
        }
      m_createKey = "";
      m_connectFailures = 0;
      m_state.token = doc.GetString("token");
      m_state.sessionId = doc.GetString("sessionId");
      m_state.heartbeatSec = (int)doc.GetLong("heartbeatIntervalSec", 30);
      long lastSequence = doc.GetLong("lastSequence", 0);
      if(m_state.cursor > lastSequence)
         KpLog(StringFormat("resuming after sequence %I64d (the gateway's last acknowledged event; local cursor was %I64d — replays are recognised by the journal)", lastSequence, m_state.cursor));
      m_state.cursor = lastSequence;
      m_http.SetToken(m_state.token);
      m_initPending = true;
      m_autotradeKnown = false;
      m_nextHeartbeatAtMs = 0;
      m_nextPollAtMs = 0;
      m_queueRetryAtMs = 0;
      KpLogReset("connect");
      if(doc.GetString("status") == "pending")
        {
         m_conn = KP_CONN_PENDING;
         KpLog(StringFormat("session %s created and PENDING: an operator must approve account %s (key fingerprint %s) in the Kopitra console. Heartbeats continue meanwhile; trading starts after approval.",
                            m_state.sessionId, m_cfg.accountId, KeyFingerprint(m_cfg.accountId, m_authKey)));
        }
      else
        {
         m_conn = KP_CONN_AUTHENTICATED;
         KpLog(StringFormat("session %s authenticated (heartbeat every %d s, resuming after sequence %I64d)", m_state.sessionId, HeartbeatSec(), m_state.cursor));
        }
      m_state.Save();
      OnSessionStarted();
      return;
     }
   if(r.status == -1)
     {
      m_lastError = m_http.DescribeTransportError(r.lastError);
      KpLogThrottled("connect", "cannot create a session: " + m_lastError, 60);
      Backoff();   // same Idempotency-Key on the retry
      return;
     }
   m_lastError = StringFormat("POST /sessions answered %d %s: %s", r.status, r.error, r.message);
   if(r.status == 409 && r.error == "session_conflict")
     {
      int wait = MathMax(5, r.retryAfterSec);
      KpLogThrottled("connect", StringFormat("another terminal holds the session of account %s (409 session_conflict); retrying in %d s. If this terminal replaced it, wait for the old lease to lapse, or ask an operator to set the account's session policy to 'takeover'.", m_cfg.accountId, wait), 300);
      m_createKey = "";
      m_nextConnectAtMs = NowMs() + (ulong)wait * 1000;
      return;
     }
   if(r.status == 403)
     {
      if(r.error == "key_rejected")
         KpLogThrottled("connect", "403 key_rejected: an operator rejected this terminal's key, or it expired. Ask for a new key (input AuthKey)" + (m_keyGenerated ? ", or delete <data folder>\\" + KP_FILES_DIR + m_state.fileName + " to generate a new one, and re-attach." : " and re-attach.") + " Retrying every 5 minutes.", 1800);
      else if(r.error == "account_disabled")
         KpLogThrottled("connect", "403 account_disabled: account " + m_cfg.accountId + " is disabled in the Kopitra console; an operator must enable it. Retrying every 5 minutes.", 1800);
      else
         KpLogThrottled("connect", m_lastError, 600);
      m_createKey = "";
      m_nextConnectAtMs = NowMs() + 300 * 1000;
      return;
     }
   if(r.status == 429)
     {
      int wait = MathMax(10, r.retryAfterSec);
      KpLogThrottled("connect", StringFormat("429 rate_limited: too many failed attempts from this address; retrying in %d s. Check the key.", wait), 300);
      m_createKey = "";
      m_nextConnectAtMs = NowMs() + (ulong)wait * 1000;
      return;
     }
   if(r.status >= 400 && r.status < 500)
     {
      // 400 invalid_request (e.g. key < 16 chars) / missing_account_header (bad account id): a setup error.
      KpLogThrottled("connect", "the gateway refused the session request: " + m_lastError + " — check the EA inputs. Retrying every minute.", 600);
      m_createKey = "";
      m_nextConnectAtMs = NowMs() + 60 * 1000;
      return;
     }
   KpLogThrottled("connect", m_lastError + " — retrying", 120);
   Backoff();
  }

void CKpClient::Backoff(void)
  {
   m_connectFailures++;
   int wait = (int)MathMin(60.0, MathPow(2.0, (double)MathMin(m_connectFailures, 6)));
   m_nextConnectAtMs = NowMs() + (ulong)wait * 1000;
  }

bool CKpClient::PostInbox(const string eventsJson, const string label)
  {
   KpResponse r;
   Request("POST", "/sessions/current/inbox", "{\"events\":[" + eventsJson + "]}", m_http.NewKey(label), r);
   if(r.status == 202)
      return true;
   if(r.status >= 400 && r.status != 401)
      KpLogThrottled("inbox-" + label, StringFormat("%s refused: %d %s %s", label, r.status, r.error, r.message), 300);
   return false;
  }

void CKpClient::SendInit(void)
  {
   CKpJsonWriter w;
   KpWriteInit(w);
   string events = w.Text();
   w.Reset();
   bool enabled = KpTradingAllowed();
   KpWriteAutotrade(w, enabled);
   events += "," + w.Text();
   KpResponse r;
   Request("POST", "/sessions/current/inbox", "{\"events\":[" + events + "]}", m_http.NewKey("init"), r);
   if(r.status == 202)
     {
      m_autotradeKnown = true;
      m_autotrade = enabled;
     }
   else if(r.status > 0 && r.status != 401)
      KpLog(StringFormat("ea.init refused: %d %s %s", r.status, r.error, r.message));
   // Retried only when the gateway was unreachable; a refusal would repeat on every tick.
   if(r.status != -1)
      m_initPending = false;
  }

void CKpClient::SendHeartbeat(void)
  {
   m_nextHeartbeatAtMs = NowMs() + (ulong)HeartbeatSec() * 1000;
   CKpJsonWriter w;
   KpWriteHeartbeat(w, m_http.LastElapsedMs());
   string events = w.Text();
   w.Reset();
   KpWriteStatusSummary(w, ConnName(), ArraySize(m_state.queue), m_lastError);
   events += "," + w.Text();
   PostInbox(events, "heartbeat");
  }

void CKpClient::CheckAutotrade(void)
  {
   bool enabled = KpTradingAllowed();
   if(m_autotradeKnown && enabled == m_autotrade)
      return;
   if(m_autotradeKnown)
      KpLog(enabled ? "AutoTrading enabled" : "AutoTrading is OFF (toolbar button, or 'Allow Algo/live trading' in the EA's properties): trade events wait until it is on");
   CKpJsonWriter w;
   KpWriteAutotrade(w, enabled);
   KpResponse r;
   Request("POST", "/sessions/current/inbox", "{\"events\":[" + w.Text() + "]}", m_http.NewKey("autotrade"), r);
   if(r.status != -1)
     {
      m_autotradeKnown = true;
      m_autotrade = enabled;
     }
  }

void CKpClient::FlushQueue(void)
  {
   if(!Live() || m_shutdownFetchDue || m_conn == KP_CONN_RESUMING || NowMs() < m_queueRetryAtMs)
      return;
   ulong started = NowMs();
   bool changed = false;
   while(ArraySize(m_state.queue) > 0 && Live() && NowMs() - started < 3000)
     {
      CKpOut *q = m_state.queue[0];
      if(q.needsAuth && m_conn != KP_CONN_AUTHENTICATED)
         break;
      KpResponse r;
      Request(q.method, q.path, q.body, q.key, r);
      q.attempts++;
      int disposition = KpQueueDisposition(r.status, r.error);
      if(disposition == KP_Q_ACCEPTED)
        {
         OnQueuedAccepted(q, r);
         changed = changed || q.persist;
         m_state.Dequeue(0);
         m_queueFailures = 0;
         continue;
        }
      if(disposition == KP_Q_RETRY)
        {
         // Retry later with the SAME Idempotency-Key: a lost response is then replayed, not
         // repeated. A 4xx without one of the gateway's error codes (a proxy's or the hosting's
         // own page) is retried too: dropping it would lose a signal or a report.
         m_queueFailures++;
         int wait = (r.status == 429 && r.retryAfterSec > 0) ? r.retryAfterSec : (int)MathMin(30.0, MathPow(2.0, (double)MathMin(m_queueFailures, 5)));
         m_queueRetryAtMs = NowMs() + (ulong)wait * 1000;
         if(r.status != -1)
            KpLogThrottled("queue", StringFormat("%s: gateway answered %d %s%s; retrying in %d s", q.label, r.status, r.error,
                                                 (r.status >= 400 && r.status < 500 && r.error == "") ? " (not the gateway's answer: a proxy or the hosting in between?)" : "", wait), 60);
         break;
        }
      if(disposition == KP_Q_REAUTH)
         break;   // a new session is created; the item is sent again with the same key
      if(disposition == KP_Q_WAIT_APPROVAL)
        {
         KpLogThrottled("pending", "waiting for operator approval before sending " + q.label, 300);
         break;
        }
      // The gateway refused it with one of its own codes: it fails the same way on every retry.
      KpLog(StringFormat("%s dropped: the gateway answered %d %s: %s", q.label, r.status, r.error, r.message));
      if(r.status == 409 && r.error == "execution_conflict")
         KpLog("(the copy order already has a different final outcome; the gateway keeps the first report)");
      else if(r.status == 404 && r.error == "order_not_found")
         KpLog("(the copy order is not addressed to this account — was the account id changed?)");
      else if(r.status == 400 || r.status == 422)
         KpLog("(please report this with the Experts log: the EA sent something the gateway does not accept)");
      m_lastError = StringFormat("%s: %d %s", q.label, r.status, r.error);
      changed = changed || q.persist;
      m_state.Dequeue(0);
     }
   if(changed)
      m_state.Save();
  }

void CKpClient::OnQueuedAccepted(CKpOut *q, KpResponse &r)
  {
   if(q.kind == "signal")
     {
      CKpJson doc;
      string err;
      if(doc.Parse(r.body, err))
        {
         CKpJson *copies = doc.Get("copies");
         CKpJson *skipped = doc.Get("skipped");
         string reasons = "";
         for(int i = 0; skipped != NULL && i < skipped.Count() && i < 5; i++)
            reasons += (i > 0 ? ", " : "") + skipped.At(i).GetString("followerAccountId") + ": " + skipped.At(i).GetString("reason");
         KpLog(StringFormat("%s sent: %d cop%s%s", q.label, copies != NULL ? copies.Count() : 0, (copies != NULL && copies.Count() == 1) ? "y" : "ies",
                            reasons != "" ? ", skipped " + reasons : ""));
        }
     }
   else if(q.kind == "execution")
      KpLog(q.label + " reported");
  }

void CKpClient::PollOutbox(void)
  {
   if(!Live())
      return;
   int wait = MathMax(0, MathMin(5, m_cfg.outboxWaitSec));
   m_nextPollAtMs = NowMs() + (ulong)MathMax(100, m_cfg.pollIntervalMs);
   string path = "/sessions/current/outbox?cursor=" + IntegerToString(m_state.cursor) + "&limit=100&wait=" + IntegerToString(wait);
   KpResponse r;
   // wait > 0 holds the request open on the gateway: the timeout must cover it.
   Request("GET", path, "", "", r, m_cfg.httpTimeoutMs + wait * 1000);
   if(r.status != 200)
     {
      if(r.status > 0 && r.status != 401)
         KpLogThrottled("poll", StringFormat("outbox poll answered %d %s %s", r.status, r.error, r.message), 120);
      return;
     }
   CKpJson doc;
   string err;
   if(!doc.Parse(r.body, err))
     {
      KpLogThrottled("poll", "unreadable outbox answer: " + err, 120);
      return;
     }
   if(doc.GetString("status") == "pending")
     {
      if(m_conn != KP_CONN_PENDING)
         KpLog(StringFormat("session %s is waiting for operator approval (account %s, key fingerprint %s)", m_state.sessionId, m_cfg.accountId, KeyFingerprint(m_cfg.accountId, m_authKey)));
      m_conn = KP_CONN_PENDING;
      int retry = (int)doc.GetLong("retryAfter", 0);
      if(retry > 0)
         m_nextPollAtMs = NowMs() + (ulong)retry * 1000;
      return;
     }
   if(m_conn == KP_CONN_PENDING)
      KpLog("account " + m_cfg.accountId + " approved: session authenticated");
   if(m_conn == KP_CONN_RESUMING)
      KpLog("session " + m_state.sessionId + " resumed");
   if(m_conn == KP_CONN_PENDING || m_conn == KP_CONN_RESUMING)
     {
      m_conn = KP_CONN_AUTHENTICATED;
      m_initPending = true;
     }
   CKpJson *events = doc.Get("events");
   int n = events != NULL ? events.Count() : 0;
   if(n == 0)
      return;
   CKpJsonWriter acks;
   int ackCount = 0;
   CKpJson *shutdown = NULL;
   bool deferred = false;
   for(int i = 0; i < n; i++)
     {
      CKpJson *ev = events.At(i);
      string type = ev.GetString("type");
      string eventId = ev.GetString("eventId");
      long sequence = ev.GetLong("sequence", 0);
      CKpJson *payload = ev.Get("payload");
      int result = KP_EVENT_DONE;
      if(type == "session.shutdown")
        {
         result = KP_EVENT_STOP;
         shutdown = payload;
        }
      else
         result = Dispatch(type, eventId, payload);
      if(result == KP_EVENT_LATER)
        {
         deferred = true;
         break;
        }
      acks.BeginObject();
      acks.Str("eventType", "OutboxAck");
      acks.Str("eventId", eventId);
      if(sequence > 0)
         acks.Int("sequence", sequence);
      acks.EndObject();
      ackCount++;
      if(sequence > m_state.cursor)
         m_state.cursor = sequence;
      if(result == KP_EVENT_STOP)
         break;
      if(!Live())
         break;
     }
   if(ackCount > 0)
     {
      // Acks go after the execution reports already queued for these events, in one request.
      string body = "{\"events\":[" + acks.Text() + "]}";
      if(shutdown != NULL)
        {
         KpResponse ar;
         m_http.Send("POST", "/sessions/current/inbox", body, m_http.NewKey("ack"), ar);
        }
      else
         EnqueueRequest("inbox", "/sessions/current/inbox", body, m_http.NewKey("ack"), StringFormat("ack of %d event(s)", ackCount), false, true);
     }
   m_state.Save();
   if(shutdown != NULL)
      ApplyShutdown(shutdown);
   else if(!deferred)
      m_nextPollAtMs = 0;   // more may wait: poll again on the next tick
  }

int CKpClient::Dispatch(const string type, const string eventId, CKpJson *payload)
  {
   if(payload == NULL)
     {
      KpLog(type + " " + eventId + " has no payload; acknowledged without action");
      return KP_EVENT_DONE;
     }
   if(type == "session.init_ack")
     {
      int hb = (int)payload.GetLong("heartbeatIntervalSec", 0);
      if(hb > 0)
         m_state.heartbeatSec = hb;
      if(payload.GetBool("symbolCatalogRequested"))
         QueueCatalog();
      if(payload.GetBool("syncSnapshotRequested"))
         QueueSnapshot("init_ack");
      return KP_EVENT_DONE;
     }
   if(type == "sync.request")
     {
      QueueSnapshot("sync.request: " + payload.GetString("reason"));
      return KP_EVENT_DONE;
     }
   if(type == "error.alert")
     {
      KpLog(StringFormat("ALERT from the gateway: %s: %s%s", payload.GetString("code"), payload.GetString("message"),
                         payload.Has("masterPositionId") ? " (master position " + payload.GetString("masterPositionId") + ")" : ""));
      return KP_EVENT_DONE;
     }
   return HandleTradeEvent(type, eventId, payload);
  }

void CKpClient::ApplyShutdown(CKpJson *p)
  {
   string reason = (p != NULL) ? p.GetString("reason") : "terminated";
   string message = (p != NULL) ? p.GetString("message") : "";
   bool hasAfter = p != NULL && p.Has("reconnectAfterSec");
   bool nullAfter = hasAfter && p.HasNull("reconnectAfterSec");
   int after = KpReconnectDelaySec(reason, hasAfter, nullAfter, hasAfter && !nullAfter ? (int)p.GetLong("reconnectAfterSec", 0) : 0);
   m_http.SetToken("");
   m_state.token = "";
   m_state.sessionId = "";
   m_conn = KP_CONN_STOPPED;
   m_stoppedUntilMs = 0;
   if(reason == "takeover")
      KpLog("another terminal took over account " + m_cfg.accountId + " (" + message + "). This EA stops here so the two do not take the account from each other; remove it, or re-attach it to take the account back.");
   else if(reason == "rejected")
     {
      KpLog("an operator rejected this terminal (" + message + "). This EA stops; set a new key (input AuthKey) and re-attach." + (m_keyGenerated ? " A new key will be generated on re-attach." : ""));
      if(m_keyGenerated)
         m_state.authKey = "";
     }
   else if(after < 0)
      // reconnectAfterSec: null — an operator's decision; reconnecting would undo it.
      KpLog(StringFormat("the gateway ended this session (%s: %s) and asked not to reconnect. This EA stops; re-attach it to connect again.", reason, message));
   else if(reason == "disabled")
     {
      KpLog(StringFormat("account %s was disabled by an operator (%s); trying again in %d s", m_cfg.accountId, message, after));
      m_stoppedUntilMs = NowMs() + (ulong)after * 1000;
     }
   else
     {
      // "terminated" (or anything new): reconnect after the window, never in a tight loop.
      KpLog(StringFormat("the session was ended by the gateway (%s: %s); reconnecting in %d s", reason, message, after));
      m_stoppedUntilMs = NowMs() + (ulong)after * 1000;
     }
   m_state.Save();
  }

void CKpClient::Timer(void)
  {
   long login = AccountInfoInteger(ACCOUNT_LOGIN);
   int identity = login > 0 ? KpIdentityDecision(m_state.login, m_state.server, login, AccountInfoString(ACCOUNT_SERVER)) : KP_ID_SAME;
   if(identity == KP_ID_ADOPT)
     {
      m_state.login = login;
      m_state.server = AccountInfoString(ACCOUNT_SERVER);
      m_state.Save();
     }
   if(m_conn != KP_CONN_STOPPED && identity == KP_ID_CHANGED)
     {
      KpLog(StringFormat("the terminal switched to login %I64d: this EA (account %s, login %I64d) stops; re-attach it", login, m_cfg.accountId, m_state.login));
      m_conn = KP_CONN_STOPPED;
      m_stoppedUntilMs = 0;
      return;
     }
   if(m_shutdownFetchDue)
     {
      m_fetchingShutdown = true;
      PollOutbox();
      m_fetchingShutdown = false;
      m_shutdownFetchDue = false;
      if(Live())
        {
         KpLog("no shutdown notice: creating a new session");
         Disconnect(0);
        }
      return;
     }
   if(m_conn == KP_CONN_STOPPED)
     {
      if(m_stoppedUntilMs == 0 || NowMs() < m_stoppedUntilMs)
         return;
      m_conn = KP_CONN_DISCONNECTED;
      m_nextConnectAtMs = 0;
     }
   BeforeFlush();   // master: classify captured trades into queued signals, even while offline
   if(m_conn == KP_CONN_DISCONNECTED)
     {
      if(NowMs() < m_nextConnectAtMs)
         return;
      Connect();
      if(!Live())
         return;
     }
   if(m_conn == KP_CONN_RESUMING)
     {
      PollOutbox();
      if(m_conn == KP_CONN_RESUMING || !Live())
         return;
     }
   if(m_initPending)
      SendInit();
   if(!Live() || m_shutdownFetchDue)
      return;
   CheckAutotrade();
   if(Live() && !m_shutdownFetchDue && NowMs() >= m_nextHeartbeatAtMs)
      SendHeartbeat();
   FlushQueue();
   if(Live() && !m_shutdownFetchDue && NowMs() >= m_nextPollAtMs)
      PollOutbox();
   FlushQueue();
   if(m_cfg.role == KP_ROLE_FOLLOWER && m_conn == KP_CONN_AUTHENTICATED && m_cfg.snapshotIntervalSec > 0 && NowMs() >= m_nextSnapshotAtMs)
     {
      if(m_nextSnapshotAtMs > 0)
         QueueSnapshot("periodic");
      m_nextSnapshotAtMs = NowMs() + (ulong)m_cfg.snapshotIntervalSec * 1000;
     }
  }

#endif // KOPITRA_SESSION_MQH
