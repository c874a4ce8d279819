//+------------------------------------------------------------------+
//| Kopitra/Http.mqh — WebRequest wrapper                              |
//|                                                                    |
//| Uses the "custom headers" form of WebRequest                       |
//|   int WebRequest(method, url, headers, timeout, const char &data[],|
//|                  char &result[], string &result_headers)           |
//| https://www.mql5.com/en/docs/network/webrequest                    |
//| https://docs.mql4.com/common/webrequest                            |
//| It returns the HTTP status (4xx/5xx included, body in result[]) or |
//| -1 for a transport failure (then GetLastError()). It is SYNCHRONOUS|
//| — the EA thread waits for the answer — so timeouts are short and   |
//| the outbox is never long-polled for long (see Follower.mqh).       |
//+------------------------------------------------------------------+
#ifndef KOPITRA_HTTP_MQH
#define KOPITRA_HTTP_MQH

#include "Common.mqh"
#include "Json.mqh"
#include "Time.mqh"

//--- "URL not in the allowed list": named constants differ per language; never reuse MQL5 numbers in MQL4.
#ifdef __MQL5__
   // ERR_FUNCTION_NOT_ALLOWED (4014) https://www.mql5.com/en/docs/constants/errorswarnings/errorcodes
   #define KP_ERR_URL_NOT_ALLOWED ERR_FUNCTION_NOT_ALLOWED
#else
   // ERR_FUNCTION_NOT_CONFIRMED (4060) https://docs.mql4.com/constants/errorswarnings/errorcodes
   #define KP_ERR_URL_NOT_ALLOWED ERR_FUNCTION_NOT_CONFIRMED
#endif
//--- WebRequest transport errors, same numbers in MQL4 and MQL5
#define KP_ERR_WEBREQUEST_INVALID_ADDRESS 5200
#define KP_ERR_WEBREQUEST_CONNECT_FAILED  5201
#define KP_ERR_WEBREQUEST_TIMEOUT         5202
#define KP_ERR_WEBREQUEST_REQUEST_FAILED  5203

//+------------------------------------------------------------------+
//| One HTTP exchange                                                  |
//+------------------------------------------------------------------+
struct KpResponse
  {
   int               status;      // HTTP status, or -1 (transport failure)
   int               lastError;   // GetLastError() when status == -1
   string            body;
   string            error;       // "error" code of a JSON error body ("" if none)
   string            message;     // "message" of a JSON error body
   int               retryAfterSec; // retryAfterSec of the error body, -1 if absent
   uint              elapsedMs;
  };

class CKpHttp
  {
private:
   string            m_base;      // e.g. https://gw.example.com/trade-agent/v1
   string            m_origin;    // e.g. https://gw.example.com (what goes into the allow-list)
   string            m_account;
   string            m_token;
   int               m_timeoutMs;
   uint              m_lastElapsed;
   long              m_counter;
   string            m_instance;

public:
                     CKpHttp(void) { m_base = ""; m_origin = ""; m_account = ""; m_token = ""; m_timeoutMs = 5000; m_lastElapsed = 0; m_counter = 0; m_instance = ""; }

   /** Normalises the gateway URL: strips a trailing "/", appends /trade-agent/v1 when missing. */
   static string     NormaliseBase(const string url)
     {
      string u = KpTrim(url);
      while(StringLen(u) > 0 && StringSubstr(u, StringLen(u) - 1) == "/")
         u = StringSubstr(u, 0, StringLen(u) - 1);
      int at = StringFind(u, KP_BASE_PATH);
      if(at < 0 || at + StringLen(KP_BASE_PATH) != StringLen(u))
         u += KP_BASE_PATH;
      return u;
     }
   static string     OriginOf(const string url)
     {
      int scheme = StringFind(url, "://");
      int slash = StringFind(url, "/", scheme < 0 ? 0 : scheme + 3);
      return slash < 0 ? url : StringSubstr(url, 0, slash);
     }

   void              Setup(const string gatewayUrl, const string account, const int timeoutMs)
     {
      m_base = NormaliseBase(gatewayUrl);
      m_origin = OriginOf(m_base);
      m_account = account;
      m_timeoutMs = timeoutMs < 1000 ? 1000 : timeoutMs;
      m_instance = KpRandomHex(6);
     }
   string            Base(void)             { return m_base; }
   string            Origin(void)           { return m_origin; }
   void              SetToken(const string token) { m_token = token; }
   string            Token(void)            { return m_token; }
   uint              LastElapsedMs(void)    { return m_lastElapsed; }

   /**
    * A fresh Idempotency-Key: printable ASCII, ≤128 chars, unique per request. Callers keep
    * it with the queued request and send the SAME key again when they retry it.
    */
   string            NewKey(const string prefix)
     {
      m_counter++;
      return prefix + "-" + m_instance + "-" + IntegerToString((long)TimeGMT()) + "-" + IntegerToString(m_counter) + "-" + KpRandomHex(6);
     }

   /**
    * Sends one request. `idempotencyKey` is required for POST/DELETE (the gateway answers
    * 400 missing_idempotency_key otherwise). The Authorization header is sent once a token is set.
    */
   void              Send(const string method, const string path, const string body, const string idempotencyKey, KpResponse &r, const int timeoutMs = 0)
     {
      r.status = -1;
      r.lastError = 0;
      r.body = "";
      r.error = "";
      r.message = "";
      r.retryAfterSec = -1;
      string url = m_base + path;
      string headers = "Accept: application/json\r\nX-TradeAgent-Account: " + m_account + "\r\n";
      if(method != "GET")
         headers += "Content-Type: application/json\r\n";
      if(idempotencyKey != "")
         headers += "Idempotency-Key: " + idempotencyKey + "\r\n";
      if(m_token != "")
         headers += "Authorization: Bearer " + m_token + "\r\n";
      char data[];
      char result[];
      string resultHeaders = "";
      if(StringLen(body) > 0)
        {
         // The trailing-NUL trap: with count=-1 StringToCharArray copies the terminating 0 too
         // ("Terminal 0 will also be copied to the recipient array",
         // https://www.mql5.com/en/docs/convert/stringtochararray), and this WebRequest form sends
         // the WHOLE array — so cut the array to the length without the 0.
         int n = StringToCharArray(body, data, 0, WHOLE_ARRAY, CP_UTF8);
         if(n > 0 && data[n - 1] == 0)
            n--;
         ArrayResize(data, n);
        }
      int timeout = timeoutMs > 0 ? timeoutMs : m_timeoutMs;
      ResetLastError();
      uint started = GetTickCount();
      int status = WebRequest(method, url, headers, timeout, data, result, resultHeaders);
      m_lastElapsed = GetTickCount() - started;
      r.elapsedMs = m_lastElapsed;
      r.status = status;
      if(status == -1)
        {
         r.lastError = GetLastError();
         return;
        }
      KpClockFromHeaders(resultHeaders);
      r.body = CharArrayToString(result, 0, WHOLE_ARRAY, CP_UTF8);
      if(status >= 400)
        {
         CKpJson doc;
         string perr;
         if(doc.Parse(r.body, perr) && doc.Type() == KP_JSON_OBJECT)
           {
            r.error = doc.GetString("error");
            r.message = doc.GetString("message");
            if(doc.Has("retryAfterSec"))
               r.retryAfterSec = (int)doc.GetLong("retryAfterSec", -1);
           }
        }
     }

   /** A one-line, actionable explanation of a transport failure (status -1). */
   string            DescribeTransportError(const int err)
     {
      if(err == KP_ERR_URL_NOT_ALLOWED)
         return StringFormat("WebRequest refused (error %d): add %s to Tools -> Options -> Expert Advisors -> \"Allow WebRequest for listed URL\" (tick the box too), then re-attach the EA", err, m_origin);
      if(err == KP_ERR_WEBREQUEST_INVALID_ADDRESS)
         return StringFormat("invalid gateway URL %s (error %d): use https://host or https://host/trade-agent/v1", m_base, err);
      if(err == KP_ERR_WEBREQUEST_CONNECT_FAILED)
         return StringFormat("cannot connect to %s (error %d): is the gateway running and reachable from this computer?", m_origin, err);
      if(err == KP_ERR_WEBREQUEST_TIMEOUT)
         return StringFormat("request to %s timed out (error %d): the gateway is slow or unreachable", m_origin, err);
      if(err == KP_ERR_WEBREQUEST_REQUEST_FAILED)
         return StringFormat("HTTP request to %s failed (error %d): check the URL, TLS certificate and proxy settings", m_origin, err);
      return StringFormat("WebRequest to %s failed (error %d)", m_origin, err);
     }
  };

#endif // KOPITRA_HTTP_MQH
