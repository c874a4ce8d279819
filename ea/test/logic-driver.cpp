// Runs the decisions of ea/include/Kopitra/Logic.mqh for ea/test/logic.test.ts: one call per
// input line (a name and arguments, tab-separated, each percent-encoded), one answer per line.
#include "mql.h"
#include "../include/Kopitra/Logic.mqh"

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <vector>

static string decode(const std::string &s)
{
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += (char)std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16);
      i += 2;
    } else out += s[i];
  }
  return out;
}
static long toLong(const string &s) { return std::strtoll(s.c_str(), nullptr, 10); }
static double toDouble(const string &s) { return std::strtod(s.c_str(), nullptr); }
static bool toBool(const string &s) { return s == "true"; }
static string b(bool v) { return v ? "true" : "false"; }
static string num(double v)
{
  std::ostringstream o;
  o.precision(10);
  o << v;
  return o.str();
}

static string resultName(int c)
{
  switch (c) {
    case KP_RC_DONE: return "done";
    case KP_RC_RETRY_NOW: return "retry_now";
    case KP_RC_RETRY_LATER: return "retry_later";
    case KP_RC_UNCERTAIN: return "uncertain";
    case KP_RC_FINAL: return "final";
    case KP_RC_INVALID_FILL: return "invalid_fill";
    case KP_RC_INVALID_STOPS: return "invalid_stops";
    case KP_RC_NO_CHANGES: return "no_changes";
    case KP_RC_NOT_SENT: return "not_sent";
  }
  return "?";
}

static string refusalName(int r)
{
  switch (r) {
    case KP_PEND_OK: return "ok";
    case KP_PEND_WRONG_SIDE: return "wrong_side";
    case KP_PEND_TOO_CLOSE: return "too_close";
    case KP_PEND_STOPS: return "stops";
    case KP_PEND_FROZEN: return "frozen";
  }
  return "?";
}
static int refusalOf(const string &s)
{
  return s == "wrong_side" ? KP_PEND_WRONG_SIDE : s == "too_close" ? KP_PEND_TOO_CLOSE : s == "stops" ? KP_PEND_STOPS : s == "frozen" ? KP_PEND_FROZEN : KP_PEND_OK;
}
static int historyOf(const string &s)
{
  return s == "filled" ? KP_OHIST_FILLED : s == "cancelled" ? KP_OHIST_CANCELLED : s == "expired" ? KP_OHIST_EXPIRED : KP_OHIST_NONE;
}
static string historyName(int h)
{
  return h == KP_OHIST_FILLED ? "filled" : h == KP_OHIST_CANCELLED ? "cancelled" : h == KP_OHIST_EXPIRED ? "expired" : "none";
}
static string changeName(int c)
{
  switch (c) {
    case KP_OCHG_NONE: return "none";
    case KP_OCHG_PLACED: return "placed";
    case KP_OCHG_MODIFIED: return "modified";
    case KP_OCHG_FILLED: return "filled";
    case KP_OCHG_CANCELLED: return "cancelled";
    case KP_OCHG_EXPIRED: return "expired";
    case KP_OCHG_WAIT: return "wait";
    case KP_OCHG_GONE: return "gone";
  }
  return "?";
}
static string expiryName(int m)
{
  switch (m) {
    case KP_EXPIRY_GTC: return "gtc";
    case KP_EXPIRY_SPECIFIED: return "specified";
    case KP_EXPIRY_BY_EA: return "by_ea";
    case KP_EXPIRY_PAST: return "past";
    case KP_EXPIRY_DAY: return "day";
  }
  return "?";
}

static string call(const std::vector<string> &a)
{
  const string &f = a[0];
  if (f == "trim") return KpTrim(a[1]);
  if (f == "fileSafeId") return KpFileSafeId(a[1]);
  if (f == "shortHash") return KpShortHash(a[1]);
  if (f == "orderTag") return KpOrderTag(a[1]);
  if (f == "legacyTag") return KpLegacyTag(a[1]);
  if (f == "isPositionTag") return b(KpIsPositionTag(a[1]));
  if (f == "copyTagged") return b(KpCopyTagged(a[1], a[2], a[3]));
  if (f == "tagMatch") {
    switch (KpTagMatch(a[1], a[2], a[3])) {
      case KP_TAG_EXACT: return "exact";
      case KP_TAG_LEGACY: return "legacy";
      case KP_TAG_NONE: return "none";
    }
    return "?";
  }
  if (f == "magic") {
    bool u = toBool(a[2]);
    long v = u ? (long)std::strtoull(a[1].c_str(), nullptr, 10) : toLong(a[1]);
    return KpMagicString(v, u);
  }
  if (f == "iso" || f == "httpDate") {
    long out = 0;
    bool ok = f == "iso" ? KpParseIsoSeconds(a[1], out) : KpParseHttpDateSeconds(a[1], out);
    return ok ? IntegerToString(out) : "invalid";
  }
  if (f == "serverOffset") return IntegerToString(KpServerOffsetSec(toLong(a[1]), toLong(a[2]), toBool(a[3]), toLong(a[4])));
  if (f == "classifyMt5") return resultName(KpClassifyMt5((uint)toLong(a[1])));
  if (f == "classifyMt4") return resultName(KpClassifyMt4((int)toLong(a[1])));
  if (f == "mt5Result") return resultName(KpMt5Result(toBool(a[1]), (uint)toLong(a[2]), (ulong)toLong(a[3]), toBool(a[4])));
  if (f == "retryDelay") return IntegerToString(KpTradeRetryDelaySec((int)toLong(a[1])));
  if (f == "placedOrder") {
    switch (KpPlacedOrderDecision(toBool(a[1]), toLong(a[2]), (int)toLong(a[3]))) {
      case KP_PLACED_WAIT: return "wait";
      case KP_PLACED_FILLED: return "filled";
      case KP_PLACED_REFUSED: return "refused";
      case KP_PLACED_UNKNOWN: return "unknown";
      case KP_PLACED_CANCEL: return "cancel";
    }
    return "?";
  }
  if (f == "slippageExceeded")
    return b(KpSlippageExceeded(a[1] == "buy", toDouble(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5]), toLong(a[6])));
  if (f == "adversePoints") return num(KpAdversePoints(a[1] == "buy", toDouble(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5])));
  if (f == "stops") {
    int m = KpStopsViolations(a[1] == "buy", toDouble(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5]), toLong(a[6]), toDouble(a[7]));
    return m == 0 ? "ok" : m == KP_STOPS_SL_BAD ? "sl" : m == KP_STOPS_TP_BAD ? "tp" : "sl+tp";
  }
  if (f == "frozen")
    return b(KpFrozen(a[1] == "buy", toDouble(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5]), toLong(a[6]), toDouble(a[7])));
  if (f == "filling") {
    int m = KpFillingMode((int)toLong(a[1]), toLong(a[2]));
    return m == KP_FILL_BY_SERVER ? "server" : m == KP_FILL_FOK ? "fok" : m == KP_FILL_IOC ? "ioc" : "return";
  }
  if (f == "open") {
    int d = KpOpenDecision(toBool(a[1]), toBool(a[2]), toBool(a[3]));
    return d == KP_OPEN_EXECUTE ? "execute" : d == KP_OPEN_ALREADY ? "already" : d == KP_OPEN_CANCELLED ? "cancelled" : "expired";
  }
  if (f == "increase") {
    int d = KpIncreaseDecision(toBool(a[1]), toBool(a[2]), toBool(a[3]), toBool(a[4]), toBool(a[5]), toBool(a[6]));
    return d == KP_OPEN_EXECUTE ? "execute" : d == KP_OPEN_ALREADY ? "already" : d == KP_OPEN_CANCELLED ? "cancelled" : d == KP_OPEN_EXPIRED ? "expired" : d == KP_OPEN_NO_COPY ? "no_copy" : "unknown";
  }
  if (f == "spreadTake") return num(KpSpreadTake(toDouble(a[1]), toDouble(a[2]), toDouble(a[3]), toDouble(a[4])));
  if (f == "close") {
    int d = KpCloseDecision(toBool(a[1]), toBool(a[2]), toBool(a[3]), toBool(a[4]), toBool(a[5]));
    return d == KP_CLOSE_EXECUTE ? "execute" : d == KP_CLOSE_ALREADY ? "already" : d == KP_CLOSE_NOT_FOUND ? "not_found" : "unknown";
  }
  if (f == "eventKind") {
    int k = KpEventKind(a[1]);
    return k == KP_TYPE_TRADE ? "trade" : k == KP_TYPE_COMMAND ? "command" : k == KP_TYPE_CANCEL ? "cancel" : k == KP_TYPE_SESSION ? "session" : "unknown";
  }
  if (f == "reconnect") return IntegerToString(KpReconnectDelaySec(a[1], toBool(a[2]), toBool(a[3]), (int)toLong(a[4])));
  if (f == "queue") {
    int d = KpQueueDisposition((int)toLong(a[1]), a[2]);
    return d == KP_Q_ACCEPTED ? "accepted" : d == KP_Q_RETRY ? "retry" : d == KP_Q_REAUTH ? "reauth" : d == KP_Q_WAIT_APPROVAL ? "wait_approval" : "drop";
  }
  if (f == "permanentError") return b(KpPermanentGatewayError(a[1]));
  if (f == "identity") {
    int d = KpIdentityDecision(toLong(a[1]), a[2], toLong(a[3]), a[4]);
    return d == KP_ID_ADOPT ? "adopt" : d == KP_ID_SAME ? "same" : "changed";
  }
  if (f == "mt4Missing") {
    int d = KpMt4MissingDecision(toBool(a[1]), (int)toLong(a[2]), toBool(a[3]), (int)toLong(a[4]));
    return d == KP_MISS_WAIT ? "wait" : d == KP_MISS_COUNT ? "count" : d == KP_MISS_CLOSED ? "closed" : "closed_at_market";
  }
  if (f == "orderKind") return KpOrderKindName(KpOrderKind(a[1]));
  if (f == "pendingPlacement")
    return refusalName(KpPendingPlacement(a[1] == "buy", KpOrderKind(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5]), toDouble(a[6]),
                                          toDouble(a[7]), toDouble(a[8]), toLong(a[9]), toDouble(a[10])));
  if (f == "pendingFrozen")
    return b(KpPendingFrozen(a[1] == "buy", KpOrderKind(a[2]), toDouble(a[3]), toDouble(a[4]), toDouble(a[5]), toLong(a[6]), toDouble(a[7])));
  if (f == "refusalCode") return IntegerToString(KpPendingRefusalCode(refusalOf(a[1]), a[2] == "mt5"));
  if (f == "expiryMode") return expiryName(KpExpiryMode(toLong(a[1]), toLong(a[2]), toLong(a[3])));
  if (f == "mt5PendingResult") return resultName(KpMt5PendingResult(toBool(a[1]), (uint)toLong(a[2]), (ulong)toLong(a[3]), toBool(a[4])));
  if (f == "orderChange")
    return changeName(KpOrderChange(toBool(a[1]), toBool(a[2]), toBool(a[3]), toBool(a[4]), historyOf(a[5]), toBool(a[6]), (int)toLong(a[7]), (int)toLong(a[8])));
  if (f == "mt5OrderHistory") return historyName(KpMt5OrderHistory(toLong(a[1])));
  if (f == "mt4OrderHistory") return historyName(KpMt4OrderHistory(toBool(a[1]), toBool(a[2]), toLong(a[3]), toLong(a[4])));
  if (f == "copyExpiryDue") return b(KpCopyExpiryDue(toBool(a[1]), toLong(a[2]), toLong(a[3])));
  return "unknown function " + f;
}

int main()
{
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<string> args;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, '\t')) args.push_back(decode(part));
    if (line.size() && line.back() == '\t') args.push_back("");
    std::cout << (args.empty() ? string("") : call(args)) << "\n";
  }
  return 0;
}
