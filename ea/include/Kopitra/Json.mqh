//+------------------------------------------------------------------+
//| Kopitra/Json.mqh — a small JSON reader (DOM) and writer            |
//|                                                                    |
//| MQL4/MQL5 have no JSON parser. This one covers what the protocol   |
//| needs: objects, arrays, strings with all escapes (\" \\ \/ \b \f   |
//| \n \r \t \uXXXX incl. surrogate pairs), numbers (kept as their     |
//| literal text too, so 64-bit ids survive), true/false/null.         |
//|                                                                    |
//| The writer emits compact JSON (no spaces) in the key order the     |
//| code writes, numbers in plain decimal notation with trailing zeros |
//| trimmed (0.1, 1.08512, 100000) — never exponent notation, because  |
//| DoubleToString with negative digits switches to scientific format  |
//| (https://docs.mql4.com/convert/DoubleToString). This is the format |
//| of ea/testdata/*.json.                                             |
//+------------------------------------------------------------------+
#ifndef KOPITRA_JSON_MQH
#define KOPITRA_JSON_MQH

#include "Common.mqh"

#define KP_JSON_MAX_DEPTH 64

enum ENUM_KP_JSON
  {
   KP_JSON_NONE = 0,
   KP_JSON_NULL,
   KP_JSON_BOOL,
   KP_JSON_NUMBER,
   KP_JSON_STRING,
   KP_JSON_ARRAY,
   KP_JSON_OBJECT
  };

//+------------------------------------------------------------------+
//| Number formatting shared by the writer and the state file          |
//+------------------------------------------------------------------+
string KpFormatNumber(const double value, int digits)
  {
   if(!MathIsValidNumber(value))
      return "0";
   if(digits < 0)
      digits = 0;
   if(digits > 12)
      digits = 12;
   // A double holds 15 significant decimal digits exactly: asking for more prints binary noise
   // (9990.8 with 12 decimals is "9990.799999999999"). Keep integer + fraction digits ≤ 15.
   double magnitude = MathAbs(value);
   int intDigits = (magnitude >= 1.0) ? (int)MathFloor(MathLog10(magnitude)) + 1 : 0;
   if(intDigits + digits > 15)
      digits = MathMax(0, 15 - intDigits);
   string s = DoubleToString(value, digits);
   if(StringFind(s, ".") >= 0)
     {
      int n = StringLen(s);
      while(n > 0 && StringGetCharacter(s, n - 1) == '0')
         n--;
      if(n > 0 && StringGetCharacter(s, n - 1) == '.')
         n--;
      s = StringSubstr(s, 0, n);
     }
   if(s == "-0" || s == "")
      s = "0";
   return s;
  }

/** Quotes and escapes a string for JSON. Non-ASCII characters are kept; the HTTP layer encodes UTF-8. */
string KpJsonQuote(const string s)
  {
   int n = StringLen(s);
   bool plain = true;
   for(int i = 0; i < n && plain; i++)
     {
      ushort c = StringGetCharacter(s, i);
      if(c < 0x20 || c == '\"' || c == '\\')
         plain = false;
     }
   if(plain)
      return "\"" + s + "\"";
   string out = "\"";
   for(int i = 0; i < n; i++)
     {
      ushort c = StringGetCharacter(s, i);
      if(c == '\"')
         out += "\\\"";
      else if(c == '\\')
         out += "\\\\";
      else if(c == '\n')
         out += "\\n";
      else if(c == '\r')
         out += "\\r";
      else if(c == '\t')
         out += "\\t";
      else if(c == 0x08)
         out += "\\b";
      else if(c == 0x0C)
         out += "\\f";
      else if(c < 0x20)
         out += StringFormat("\\u%04x", c);
      else
         out += ShortToString(c);
     }
   return out + "\"";
  }

//+------------------------------------------------------------------+
//| CKpJson — a parsed JSON value                                      |
//+------------------------------------------------------------------+
class CKpJson
  {
private:
   ENUM_KP_JSON      m_type;
   string            m_key;
   string            m_text;      // string value, or the literal of a number
   double            m_number;
   bool              m_bool;
   CKpJson          *m_items[];

   static bool       IsSpace(const ushort c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0; }
   static int        HexValue(const ushort c)
     {
      if(c >= '0' && c <= '9') return (int)(c - '0');
      if(c >= 'a' && c <= 'f') return (int)(c - 'a') + 10;
      if(c >= 'A' && c <= 'F') return (int)(c - 'A') + 10;
      return -1;
     }
   static void       SkipSpace(const string &s, int &i, const int n)
     {
      while(i < n && IsSpace(StringGetCharacter(s, i)))
         i++;
     }

   /** Parses a JSON string starting at the opening quote; leaves i after the closing quote. */
   static bool       ReadString(const string &s, int &i, const int n, string &out, string &error)
     {
      ushort buf[];
      int len = 0;
      ArrayResize(buf, 0, 64);
      i++; // opening quote
      while(i < n)
        {
         ushort c = StringGetCharacter(s, i);
         if(c == '\"')
           {
            i++;
            out = (len > 0) ? ShortArrayToString(buf, 0, len) : "";
            return true;
           }
         if(c == '\\')
           {
            if(i + 1 >= n) break;
            ushort e = StringGetCharacter(s, i + 1);
            ushort v = 0;
            i += 2;
            if(e == '\"') v = '\"';
            else if(e == '\\') v = '\\';
            else if(e == '/') v = '/';
            else if(e == 'b') v = 0x08;
            else if(e == 'f') v = 0x0C;
            else if(e == 'n') v = '\n';
            else if(e == 'r') v = '\r';
            else if(e == 't') v = '\t';
            else if(e == 'u')
              {
               if(i + 4 > n) { error = "truncated \\u escape"; return false; }
               int code = 0;
               for(int k = 0; k < 4; k++)
                 {
                  int h = HexValue(StringGetCharacter(s, i + k));
                  if(h < 0) { error = "bad \\u escape"; return false; }
                  code = code * 16 + h;
                 }
               i += 4;
               // MQL strings are UTF-16: a surrogate pair \ud83d\ude00 is stored as its two code units.
               v = (ushort)code;
              }
            else
              {
               error = "bad escape \\" + ShortToString(e);
               return false;
              }
            ArrayResize(buf, len + 1, 64);
            buf[len++] = v;
            continue;
           }
         ArrayResize(buf, len + 1, 64);
         buf[len++] = c;
         i++;
        }
      error = "unterminated string";
      return false;
     }

public:
                     CKpJson(void) { m_type = KP_JSON_NONE; m_key = ""; m_text = ""; m_number = 0.0; m_bool = false; }
                    ~CKpJson(void) { Clear(); }

   void              Clear(void)
     {
      int n = ArraySize(m_items);
      for(int i = 0; i < n; i++)
         if(CheckPointer(m_items[i]) == POINTER_DYNAMIC)
            delete m_items[i];
      ArrayFree(m_items);
      m_type = KP_JSON_NONE;
      m_text = "";
      m_number = 0.0;
      m_bool = false;
     }

   //--- type and scalar access
   ENUM_KP_JSON      Type(void)    { return m_type; }
   string            Key(void)     { return m_key; }
   void              SetKey(const string key) { m_key = key; }
   bool              IsNull(void)  { return m_type == KP_JSON_NULL; }
   int               Count(void)   { return ArraySize(m_items); }
   CKpJson          *At(const int index)
     {
      if(index < 0 || index >= ArraySize(m_items)) return NULL;
      return m_items[index];
     }
   /** String value; a number gives its literal, a bool "true"/"false"; null and containers give "". */
   string            AsString(void)
     {
      if(m_type == KP_JSON_STRING || m_type == KP_JSON_NUMBER) return m_text;
      if(m_type == KP_JSON_BOOL) return m_bool ? "true" : "false";
      return "";
     }
   double            AsDouble(void)
     {
      if(m_type == KP_JSON_NUMBER) return m_number;
      if(m_type == KP_JSON_STRING) return StringToDouble(m_text);
      if(m_type == KP_JSON_BOOL) return m_bool ? 1.0 : 0.0;
      return 0.0;
     }
   /** Integer value; exact for 64-bit integers written as literals or strings. */
   long              AsLong(void)
     {
      if(m_type == KP_JSON_NUMBER)
        {
         if(StringFind(m_text, ".") < 0 && StringFind(m_text, "e") < 0 && StringFind(m_text, "E") < 0)
            return StringToInteger(m_text);
         return (long)MathRound(m_number);
        }
      if(m_type == KP_JSON_STRING) return StringToInteger(m_text);
      if(m_type == KP_JSON_BOOL) return m_bool ? 1 : 0;
      return 0;
     }
   bool              AsBool(void)
     {
      if(m_type == KP_JSON_BOOL) return m_bool;
      if(m_type == KP_JSON_NUMBER) return m_number != 0.0;
      if(m_type == KP_JSON_STRING) return m_text == "true";
      return false;
     }

   //--- object access: a missing key gives NULL / the default
   CKpJson          *Get(const string key)
     {
      if(m_type != KP_JSON_OBJECT) return NULL;
      int n = ArraySize(m_items);
      for(int i = 0; i < n; i++)
         if(m_items[i].Key() == key)
            return m_items[i];
      return NULL;
     }
   bool              Has(const string key)      { return Get(key) != NULL; }
   /** True when the key is present with the value null. */
   bool              HasNull(const string key)  { CKpJson *v = Get(key); return v != NULL && v.IsNull(); }
   string            GetString(const string key, const string def = "")
     {
      CKpJson *v = Get(key);
      if(v == NULL || v.IsNull()) return def;
      return v.AsString();
     }
   double            GetDouble(const string key, const double def = 0.0)
     {
      CKpJson *v = Get(key);
      if(v == NULL || v.IsNull()) return def;
      return v.AsDouble();
     }
   long              GetLong(const string key, const long def = 0)
     {
      CKpJson *v = Get(key);
      if(v == NULL || v.IsNull()) return def;
      return v.AsLong();
     }
   bool              GetBool(const string key, const bool def = false)
     {
      CKpJson *v = Get(key);
      if(v == NULL || v.IsNull()) return def;
      return v.AsBool();
     }

   //--- parsing
   /** Parses `text` into this value. Trailing whitespace (and a NUL) is allowed, anything else is an error. */
   bool              Parse(const string text, string &error)
     {
      Clear();
      error = "";
      int i = 0;
      int n = StringLen(text);
      if(!ParseAt(text, i, n, 0, error))
        {
         Clear();
         return false;
        }
      SkipSpace(text, i, n);
      if(i < n)
        {
         error = "unexpected data after JSON value at offset " + IntegerToString(i);
         Clear();
         return false;
        }
      return true;
     }

   /** Parses one value starting at s[i]; used recursively. */
   bool              ParseAt(const string &s, int &i, const int n, const int depth, string &error)
     {
      if(depth > KP_JSON_MAX_DEPTH) { error = "nesting too deep"; return false; }
      SkipSpace(s, i, n);
      if(i >= n) { error = "unexpected end of JSON"; return false; }
      ushort c = StringGetCharacter(s, i);
      if(c == '{')
        {
         m_type = KP_JSON_OBJECT;
         i++;
         SkipSpace(s, i, n);
         if(i < n && StringGetCharacter(s, i) == '}') { i++; return true; }
         while(i < n)
           {
            SkipSpace(s, i, n);
            if(i >= n || StringGetCharacter(s, i) != '\"') { error = "expected a key at offset " + IntegerToString(i); return false; }
            string key;
            if(!ReadString(s, i, n, key, error)) return false;
            SkipSpace(s, i, n);
            if(i >= n || StringGetCharacter(s, i) != ':') { error = "expected ':' at offset " + IntegerToString(i); return false; }
            i++;
            CKpJson *child = new CKpJson();
            child.SetKey(key);
            KpPush(m_items, child);
            if(!child.ParseAt(s, i, n, depth + 1, error)) return false;
            SkipSpace(s, i, n);
            if(i >= n) break;
            ushort d = StringGetCharacter(s, i);
            if(d == ',') { i++; continue; }
            if(d == '}') { i++; return true; }
            error = "expected ',' or '}' at offset " + IntegerToString(i);
            return false;
           }
         error = "unterminated object";
         return false;
        }
      if(c == '[')
        {
         m_type = KP_JSON_ARRAY;
         i++;
         SkipSpace(s, i, n);
         if(i < n && StringGetCharacter(s, i) == ']') { i++; return true; }
         while(i < n)
           {
            CKpJson *child = new CKpJson();
            KpPush(m_items, child);
            if(!child.ParseAt(s, i, n, depth + 1, error)) return false;
            SkipSpace(s, i, n);
            if(i >= n) break;
            ushort d = StringGetCharacter(s, i);
            if(d == ',') { i++; continue; }
            if(d == ']') { i++; return true; }
            error = "expected ',' or ']' at offset " + IntegerToString(i);
            return false;
           }
         error = "unterminated array";
         return false;
        }
      if(c == '\"')
        {
         m_type = KP_JSON_STRING;
         return ReadString(s, i, n, m_text, error);
        }
      if(c == 't' && StringSubstr(s, i, 4) == "true")  { m_type = KP_JSON_BOOL; m_bool = true;  i += 4; return true; }
      if(c == 'f' && StringSubstr(s, i, 5) == "false") { m_type = KP_JSON_BOOL; m_bool = false; i += 5; return true; }
      if(c == 'n' && StringSubstr(s, i, 4) == "null")  { m_type = KP_JSON_NULL; i += 4; return true; }
      if(c == '-' || (c >= '0' && c <= '9'))
        {
         int start = i;
         int expAt = -1;
         while(i < n)
           {
            ushort d = StringGetCharacter(s, i);
            if((d >= '0' && d <= '9') || d == '.' || d == '-' || d == '+') { i++; continue; }
            if(d == 'e' || d == 'E') { if(expAt < 0) expAt = i - start; i++; continue; }
            break;
           }
         m_type = KP_JSON_NUMBER;
         m_text = StringSubstr(s, start, i - start);
         if(expAt >= 0)
           {
            // StringToDouble is documented for plain decimals; apply the exponent ourselves.
            double mantissa = StringToDouble(StringSubstr(m_text, 0, expAt));
            long exponent = StringToInteger(StringSubstr(m_text, expAt + 1));
            m_number = mantissa * MathPow(10.0, (double)exponent);
           }
         else
            m_number = StringToDouble(m_text);
         return true;
        }
      error = "unexpected character '" + ShortToString(c) + "' at offset " + IntegerToString(i);
      return false;
     }
  };

//+------------------------------------------------------------------+
//| CKpJsonWriter — builds compact JSON text                           |
//| Pass key "" for array elements and for the top-level value.        |
//+------------------------------------------------------------------+
class CKpJsonWriter
  {
private:
   string            m_out;
   bool              m_first[];
   int               m_depth;

   void              Separator(const string key)
     {
      if(m_depth > 0)
        {
         if(!m_first[m_depth - 1])
            m_out += ",";
         m_first[m_depth - 1] = false;
        }
      if(key != "")
         m_out += KpJsonQuote(key) + ":";
     }
   void              Open(const string key, const string bracket)
     {
      Separator(key);
      m_out += bracket;
      ArrayResize(m_first, m_depth + 1, 8);
      m_first[m_depth] = true;
      m_depth++;
     }
   void              Close(const string bracket)
     {
      if(m_depth > 0)
         m_depth--;
      m_out += bracket;
     }

public:
                     CKpJsonWriter(void) { m_out = ""; m_depth = 0; }
   void              Reset(void)          { m_out = ""; m_depth = 0; ArrayFree(m_first); }
   string            Text(void)           { return m_out; }

   void              BeginObject(const string key = "") { Open(key, "{"); }
   void              EndObject(void)                    { Close("}"); }
   void              BeginArray(const string key = "")  { Open(key, "["); }
   void              EndArray(void)                     { Close("]"); }

   void              Str(const string key, const string value)            { Separator(key); m_out += KpJsonQuote(value); }
   void              Int(const string key, const long value)              { Separator(key); m_out += IntegerToString(value); }
   void              Num(const string key, const double value, const int digits = 8) { Separator(key); m_out += KpFormatNumber(value, digits); }
   void              Bool(const string key, const bool value)             { Separator(key); m_out += value ? "true" : "false"; }
   void              Null(const string key)                               { Separator(key); m_out += "null"; }
   /** A price level where MetaTrader's 0 means "none": written as null. */
   void              Level(const string key, const double value, const int digits)
     {
      if(value > 0.0) Num(key, value, digits);
      else Null(key);
     }
   /** Inserts already-serialised JSON. */
   void              Raw(const string key, const string json)            { Separator(key); m_out += json; }
  };

#endif // KOPITRA_JSON_MQH
