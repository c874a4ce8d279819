//+------------------------------------------------------------------+
//| Kopitra/State.mqh — what survives a terminal restart               |
//|                                                                    |
//| One JSON file per account and role in the terminal's sandboxed     |
//| Files folder: <data folder>\MQL5\Files\Kopitra\<account>-<role>.json |
//| (MQL4\Files\... for MT4; https://www.mql5.com/en/docs/files). It   |
//| holds the outbox cursor, the session token (so a timeframe change  |
//| does not open a second session), the generated key, the queue of  |
//| requests not yet accepted by the gateway (signals, execution       |
//| reports, acknowledgements — each with its Idempotency-Key, so a    |
//| retry after a restart is still deduplicated), the follower's       |
//| journal of executed events, and the master's trade bookkeeping.    |
//| Written to a temporary file and moved over the old one, so a crash |
//| mid-write leaves the previous state intact.                        |
//+------------------------------------------------------------------+
#ifndef KOPITRA_STATE_MQH
#define KOPITRA_STATE_MQH

#include "Common.mqh"
#include "Json.mqh"

#define KP_QUEUE_MAX    2000
#define KP_JOURNAL_MAX  500
#define KP_SEEN_MAX     500

//--- a request waiting to be accepted by the gateway
class CKpOut
  {
public:
   string            method;
   string            path;
   string            body;
   string            key;        // Idempotency-Key, reused on every retry
   string            label;      // for log lines
   string            kind;       // signal | execution | inbox
   bool              needsAuth;  // may not be sent while the session is pending
   bool              persist;    // written to the state file (telemetry is rebuilt instead)
   int               attempts;
                     CKpOut(void) { attempts = 0; needsAuth = true; persist = true; }
  };

//--- follower: what happened to an outbox event (idempotent re-delivery after a crash)
class CKpJournal
  {
public:
   string            eventId;
   string            orderId;
   string            state;      // inflight (may have executed) | retry (did not execute; try again) | done
   string            ticket;
   int               attempts;   // deferrals so far (temporary trade errors), bounded by KP_TRADE_MAX_DEFERRALS
   ulong             retryAtMs;  // not before (GetMicrosecondCount / 1000); not saved: after a restart, at once
                     CKpJournal(void) { attempts = 0; retryAtMs = 0; }
  };

//--- MT5 master: a trade transaction seen by OnTradeTransaction, classified later in OnTimer
class CKpRawTx
  {
public:
   string            kind;       // deal | position
   long              ticket;     // deal ticket or position ticket
   string            symbol;
   double            sl;
   double            tp;
   int               tries;
                     CKpRawTx(void) { tries = 0; ticket = 0; sl = 0; tp = 0; }
  };

//--- MT4 master: the last seen state of one market order
class CKpBookEntry
  {
public:
   long              ticket;
   string            root;       // masterPositionId: the ticket that opened the position (survives partial closes)
   string            symbol;
   string            side;
   double            lots;
   double            price;
   double            sl;
   double            tp;
   long              magic;
   string            comment;
   int               waits;      // scans spent waiting for the rest of a partial close to appear
   int               misses;     // connected scans without this order and without its close in the history
                     CKpBookEntry(void) { waits = 0; misses = 0; }
  };

//--- master: one pending order as last reported (MT4 snapshots, MT5 scans of the order list)
class CKpMasterOrder
  {
public:
   long              ticket;
   string            symbol;
   string            side;
   int               kind;       // KP_ORDER_* (Logic.mqh)
   double            volume;
   double            price;
   double            stopLimit;  // MT5 stop-limit: the limit price, else 0
   double            sl;
   double            tp;
   long              expiresAt;  // UTC seconds, 0 = good till cancelled
   long              magic;
   string            comment;
   bool              reported;   // order.placed was sent (orders found at the first start are not)
   bool              filled;     // MT5: order.filled sent while the order still works (partial fill)
   int               misses;     // scans without the order and without its outcome in the history
                     CKpMasterOrder(void) { ticket = 0; kind = 0; volume = 0; price = 0; stopLimit = 0; sl = 0; tp = 0; expiresAt = 0; magic = 0; reported = false; filled = false; misses = 0; }
  };

//--- follower: a pending order placed for a copy order (trade.order_placed), watched until it fills or goes
class CKpCopyOrder
  {
public:
   long              ticket;     // the order's ticket
   string            orderId;    // the placement's copy order: order_filled names it
   string            symbol;
   long              expiresAt;  // UTC seconds, 0 = good till cancelled
   bool              eaExpiry;   // the broker takes no expiry time: the EA deletes it at expiresAt
   int               misses;
                     CKpCopyOrder(void) { ticket = 0; expiresAt = 0; eaExpiry = false; misses = 0; }
  };

class CKpState
  {
public:
   string            fileName;
   string            account;
   string            role;
   string            authKey;       // generated key (empty when the key is an input)
   string            token;
   string            sessionId;
   long              login;         // ACCOUNT_LOGIN this state belongs to (0 = not known yet)
   string            server;        // ACCOUNT_SERVER
   int               heartbeatSec;
   long              cursor;
   CKpOut           *queue[];
   CKpJournal       *journal[];
   string            cancelled[];
   // MT5 master
   long              lastDealMsc;   // DEAL_TIME_MSC (server time) of the newest deal handled
   long              seenDeals[];
   CKpRawTx         *raw[];
   // MT4 master
   bool              bookReady;
   CKpBookEntry     *book[];
   // master pending orders (both platforms)
   bool              ordersReady;
   CKpMasterOrder   *orders[];
   // follower pending copies
   CKpCopyOrder     *copies[];

                     CKpState(void) { heartbeatSec = 0; cursor = 0; lastDealMsc = 0; bookReady = false; ordersReady = false; login = 0; }
                    ~CKpState(void) { FreeAll(); }

   void              FreeAll(void)
     {
      for(int i = 0; i < ArraySize(queue); i++)   delete queue[i];
      for(int i = 0; i < ArraySize(journal); i++) delete journal[i];
      for(int i = 0; i < ArraySize(raw); i++)     delete raw[i];
      for(int i = 0; i < ArraySize(book); i++)    delete book[i];
      for(int i = 0; i < ArraySize(orders); i++)  delete orders[i];
      for(int i = 0; i < ArraySize(copies); i++)  delete copies[i];
      ArrayFree(queue);
      ArrayFree(journal);
      ArrayFree(raw);
      ArrayFree(book);
      ArrayFree(orders);
      ArrayFree(copies);
      ArrayFree(cancelled);
      ArrayFree(seenDeals);
     }

   void              Init(const string accountId, const string roleName)
     {
      account = accountId;
      role = roleName;
      // The id may hold ':' (allowed by the gateway, refused by Windows in file names).
      fileName = "Kopitra\\" + KpFileSafeId(accountId) + "-" + roleName + ".json";
     }

   //--- queue
   void              Enqueue(CKpOut *item)
     {
      if(ArraySize(queue) >= KP_QUEUE_MAX)
        {
         KpLog(StringFormat("request queue full (%d): dropping the oldest, %s", KP_QUEUE_MAX, queue[0].label));
         delete queue[0];
         KpRemoveAt(queue, 0);
        }
      KpPush(queue, item);
     }
   void              Dequeue(const int index)
     {
      if(index < 0 || index >= ArraySize(queue))
         return;
      delete queue[index];
      KpRemoveAt(queue, index);
     }

   //--- journal
   CKpJournal       *FindJournal(const string eventId)
     {
      for(int i = ArraySize(journal) - 1; i >= 0; i--)
         if(journal[i].eventId == eventId)
            return journal[i];
      return NULL;
     }
   void              Journal(const string eventId, const string orderId, const string st, const string ticket)
     {
      CKpJournal *j = FindJournal(eventId);
      if(j == NULL)
        {
         if(ArraySize(journal) >= KP_JOURNAL_MAX)
           {
            delete journal[0];
            KpRemoveAt(journal, 0);
           }
         j = new CKpJournal();
         j.eventId = eventId;
         KpPush(journal, j);
        }
      j.orderId = orderId;
      j.state = st;
      j.ticket = ticket;
     }

   bool              IsCancelled(const string orderId)
     {
      for(int i = 0; i < ArraySize(cancelled); i++)
         if(cancelled[i] == orderId)
            return true;
      return false;
     }
   void              Cancel(const string orderId)
     {
      if(orderId == "" || IsCancelled(orderId))
         return;
      if(ArraySize(cancelled) >= 200)
         KpRemoveAt(cancelled, 0);
      KpPush(cancelled, orderId);
     }

   //--- MT5 deals
   bool              SeenDeal(const long ticket)
     {
      for(int i = ArraySize(seenDeals) - 1; i >= 0; i--)
         if(seenDeals[i] == ticket)
            return true;
      return false;
     }
   void              MarkDeal(const long ticket, const long timeMsc)
     {
      if(SeenDeal(ticket))
         return;
      if(ArraySize(seenDeals) >= KP_SEEN_MAX)
         KpRemoveAt(seenDeals, 0);
      KpPush(seenDeals, ticket);
      if(timeMsc > lastDealMsc)
         lastDealMsc = timeMsc;
     }
   void              AddRaw(const string kind, const long ticket, const string symbol, const double sl, const double tp)
     {
      for(int i = 0; i < ArraySize(raw); i++)
        {
         if(raw[i].kind != kind || raw[i].ticket != ticket)
            continue;
         if(kind == "position")
           {
            // Dragging an SL line sends many modifications: keep one, with the latest levels.
            raw[i].sl = sl;
            raw[i].tp = tp;
           }
         return;
        }
      CKpRawTx *r = new CKpRawTx();
      r.kind = kind;
      r.ticket = ticket;
      r.symbol = symbol;
      r.sl = sl;
      r.tp = tp;
      KpPush(raw, r);
     }

   bool              HasRaw(const string kind, const long ticket)
     {
      for(int i = 0; i < ArraySize(raw); i++)
         if(raw[i].kind == kind && raw[i].ticket == ticket)
            return true;
      return false;
     }

   //--- MT4 book
   int               BookIndex(const long ticket)
     {
      for(int i = 0; i < ArraySize(book); i++)
         if(book[i].ticket == ticket)
            return i;
      return -1;
     }

   //--- pending orders
   int               OrderIndex(const long ticket)
     {
      for(int i = 0; i < ArraySize(orders); i++)
         if(orders[i].ticket == ticket)
            return i;
      return -1;
     }
   void              DropOrder(const int index)
     {
      if(index < 0 || index >= ArraySize(orders))
         return;
      delete orders[index];
      KpRemoveAt(orders, index);
     }
   int               CopyIndex(const long ticket)
     {
      for(int i = 0; i < ArraySize(copies); i++)
         if(copies[i].ticket == ticket)
            return i;
      return -1;
     }
   void              TrackCopy(const long ticket, const string orderId, const string symbol, const long expiresAt, const bool eaExpiry)
     {
      if(ticket <= 0)
         return;
      int i = CopyIndex(ticket);
      CKpCopyOrder *c = NULL;
      if(i >= 0)
         c = copies[i];
      else
         c = new CKpCopyOrder();
      c.ticket = ticket;
      if(orderId != "")
         c.orderId = orderId;
      c.symbol = symbol;
      c.expiresAt = expiresAt;
      c.eaExpiry = eaExpiry;
      c.misses = 0;
      if(i < 0)
         KpPush(copies, c);
     }
   void              DropCopy(const long ticket)
     {
      int i = CopyIndex(ticket);
      if(i < 0)
         return;
      delete copies[i];
      KpRemoveAt(copies, i);
     }

   //--- persistence
   bool              Save(void)
     {
      CKpJsonWriter w;
      w.BeginObject();
      w.Int("v", 1);
      w.Str("account", account);
      w.Str("role", role);
      w.Str("authKey", authKey);
      w.Str("token", token);
      w.Str("sessionId", sessionId);
      w.Str("login", IntegerToString(login));
      w.Str("server", server);
      w.Int("heartbeatSec", heartbeatSec);
      w.Int("cursor", cursor);
      w.BeginArray("queue");
      for(int i = 0; i < ArraySize(queue); i++)
        {
         if(!queue[i].persist)
            continue;
         w.BeginObject();
         w.Str("m", queue[i].method);
         w.Str("p", queue[i].path);
         w.Str("b", queue[i].body);
         w.Str("k", queue[i].key);
         w.Str("l", queue[i].label);
         w.Str("t", queue[i].kind);
         w.Bool("a", queue[i].needsAuth);
         w.EndObject();
        }
      w.EndArray();
      w.BeginArray("journal");
      for(int i = 0; i < ArraySize(journal); i++)
        {
         w.BeginObject();
         w.Str("e", journal[i].eventId);
         w.Str("o", journal[i].orderId);
         w.Str("s", journal[i].state);
         w.Str("t", journal[i].ticket);
         w.Int("n", journal[i].attempts);
         w.EndObject();
        }
      w.EndArray();
      w.BeginArray("cancelled");
      for(int i = 0; i < ArraySize(cancelled); i++)
         w.Str("", cancelled[i]);
      w.EndArray();
      w.Str("lastDealMsc", IntegerToString(lastDealMsc));
      w.BeginArray("seenDeals");
      for(int i = 0; i < ArraySize(seenDeals); i++)
         w.Str("", IntegerToString(seenDeals[i]));
      w.EndArray();
      w.BeginArray("raw");
      for(int i = 0; i < ArraySize(raw); i++)
        {
         w.BeginObject();
         w.Str("k", raw[i].kind);
         w.Str("t", IntegerToString(raw[i].ticket));
         w.Str("s", raw[i].symbol);
         w.Num("sl", raw[i].sl, 10);
         w.Num("tp", raw[i].tp, 10);
         w.EndObject();
        }
      w.EndArray();
      w.Bool("bookReady", bookReady);
      w.BeginArray("book");
      for(int i = 0; i < ArraySize(book); i++)
        {
         w.BeginObject();
         w.Str("t", IntegerToString(book[i].ticket));
         w.Str("r", book[i].root);
         w.Str("s", book[i].symbol);
         w.Str("d", book[i].side);
         w.Num("v", book[i].lots, 8);
         w.Num("p", book[i].price, 10);
         w.Num("sl", book[i].sl, 10);
         w.Num("tp", book[i].tp, 10);
         w.Int("m", book[i].magic);
         w.Str("c", book[i].comment);
         w.EndObject();
        }
      w.EndArray();
      w.Bool("ordersReady", ordersReady);
      w.BeginArray("orders");
      for(int i = 0; i < ArraySize(orders); i++)
        {
         w.BeginObject();
         w.Str("t", IntegerToString(orders[i].ticket));
         w.Str("s", orders[i].symbol);
         w.Str("d", orders[i].side);
         w.Int("k", orders[i].kind);
         w.Num("v", orders[i].volume, 8);
         w.Num("p", orders[i].price, 10);
         w.Num("sp", orders[i].stopLimit, 10);
         w.Num("sl", orders[i].sl, 10);
         w.Num("tp", orders[i].tp, 10);
         w.Int("x", orders[i].expiresAt);
         w.Str("m", IntegerToString(orders[i].magic));
         w.Str("c", orders[i].comment);
         w.Bool("r", orders[i].reported);
         w.Bool("f", orders[i].filled);
         w.EndObject();
        }
      w.EndArray();
      w.BeginArray("copies");
      for(int i = 0; i < ArraySize(copies); i++)
        {
         w.BeginObject();
         w.Str("t", IntegerToString(copies[i].ticket));
         w.Str("o", copies[i].orderId);
         w.Str("s", copies[i].symbol);
         w.Int("x", copies[i].expiresAt);
         w.Bool("e", copies[i].eaExpiry);
         w.EndObject();
        }
      w.EndArray();
      w.EndObject();

      string tmp = fileName + ".tmp";
      int h = FileOpen(tmp, FILE_WRITE | FILE_BIN);
      if(h == INVALID_HANDLE)
        {
         KpLogThrottled("state-save", StringFormat("cannot write %s (error %d): pending work will not survive a restart", tmp, GetLastError()), 300);
         return false;
        }
      uchar bytes[];
      int n = StringToCharArray(w.Text(), bytes, 0, WHOLE_ARRAY, CP_UTF8);
      if(n > 0 && bytes[n - 1] == 0)
         n--;
      FileWriteArray(h, bytes, 0, n);
      FileClose(h);
      // https://www.mql5.com/en/docs/files/filemove — FILE_REWRITE replaces the old state atomically enough for a crash.
      if(!FileMove(tmp, 0, fileName, FILE_REWRITE))
        {
         KpLogThrottled("state-move", StringFormat("cannot replace %s (error %d)", fileName, GetLastError()), 300);
         return false;
        }
      return true;
     }

   bool              Load(void)
     {
      if(!FileIsExist(fileName))
         return false;
      int h = FileOpen(fileName, FILE_READ | FILE_BIN);
      if(h == INVALID_HANDLE)
        {
         KpLog(StringFormat("cannot read %s (error %d): starting without saved state", fileName, GetLastError()));
         return false;
        }
      uchar bytes[];
      int size = (int)FileSize(h);
      int got = (size > 0) ? (int)FileReadArray(h, bytes, 0, size) : 0;
      FileClose(h);
      string text = (got > 0) ? CharArrayToString(bytes, 0, got, CP_UTF8) : "";
      CKpJson doc;
      string err;
      if(!doc.Parse(text, err) || doc.Type() != KP_JSON_OBJECT)
        {
         KpLog(StringFormat("%s is damaged (%s): starting without saved state", fileName, err));
         return false;
        }
      FreeAll();
      authKey = doc.GetString("authKey");
      token = doc.GetString("token");
      sessionId = doc.GetString("sessionId");
      login = StringToInteger(doc.GetString("login", "0"));
      server = doc.GetString("server");
      heartbeatSec = (int)doc.GetLong("heartbeatSec", 0);
      cursor = doc.GetLong("cursor", 0);
      CKpJson *arr = doc.Get("queue");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpOut *q = new CKpOut();
         q.method = o.GetString("m");
         q.path = o.GetString("p");
         q.body = o.GetString("b");
         q.key = o.GetString("k");
         q.label = o.GetString("l");
         q.kind = o.GetString("t");
         q.needsAuth = o.GetBool("a", true);
         q.persist = true;
         KpPush(queue, q);
        }
      arr = doc.Get("journal");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpJournal *j = new CKpJournal();
         j.eventId = o.GetString("e");
         j.orderId = o.GetString("o");
         j.state = o.GetString("s");
         j.ticket = o.GetString("t");
         j.attempts = (int)o.GetLong("n", 0);
         KpPush(journal, j);
        }
      arr = doc.Get("cancelled");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
         KpPush(cancelled, arr.At(i).AsString());
      lastDealMsc = doc.GetLong("lastDealMsc", 0);
      arr = doc.Get("seenDeals");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
         KpPush(seenDeals, arr.At(i).AsLong());
      arr = doc.Get("raw");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpRawTx *r = new CKpRawTx();
         r.kind = o.GetString("k");
         r.ticket = o.GetLong("t");
         r.symbol = o.GetString("s");
         r.sl = o.GetDouble("sl");
         r.tp = o.GetDouble("tp");
         KpPush(raw, r);
        }
      bookReady = doc.GetBool("bookReady", false);
      arr = doc.Get("book");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpBookEntry *b = new CKpBookEntry();
         b.ticket = o.GetLong("t");
         b.root = o.GetString("r");
         b.symbol = o.GetString("s");
         b.side = o.GetString("d");
         b.lots = o.GetDouble("v");
         b.price = o.GetDouble("p");
         b.sl = o.GetDouble("sl");
         b.tp = o.GetDouble("tp");
         b.magic = o.GetLong("m");
         b.comment = o.GetString("c");
         KpPush(book, b);
        }
      ordersReady = doc.GetBool("ordersReady", false);
      arr = doc.Get("orders");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpMasterOrder *mo = new CKpMasterOrder();
         mo.ticket = StringToInteger(o.GetString("t"));
         mo.symbol = o.GetString("s");
         mo.side = o.GetString("d");
         mo.kind = (int)o.GetLong("k", 0);
         mo.volume = o.GetDouble("v");
         mo.price = o.GetDouble("p");
         mo.stopLimit = o.GetDouble("sp");
         mo.sl = o.GetDouble("sl");
         mo.tp = o.GetDouble("tp");
         mo.expiresAt = o.GetLong("x", 0);
         mo.magic = StringToInteger(o.GetString("m", "0"));
         mo.comment = o.GetString("c");
         mo.reported = o.GetBool("r", false);
         mo.filled = o.GetBool("f", false);
         KpPush(orders, mo);
        }
      arr = doc.Get("copies");
      for(int i = 0; arr != NULL && i < arr.Count(); i++)
        {
         CKpJson *o = arr.At(i);
         CKpCopyOrder *c = new CKpCopyOrder();
         c.ticket = StringToInteger(o.GetString("t"));
         c.orderId = o.GetString("o");
         c.symbol = o.GetString("s");
         c.expiresAt = o.GetLong("x", 0);
         c.eaExpiry = o.GetBool("e", false);
         KpPush(copies, c);
        }
      return true;
     }
  };

#endif // KOPITRA_STATE_MQH
