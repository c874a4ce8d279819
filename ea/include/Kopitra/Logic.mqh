//+------------------------------------------------------------------+
//| Kopitra/Logic.mqh — the EA's decisions, free of terminal calls    |
//|                                                                    |
//| Everything here is written in the part of MQL that is also C++    |
//| (no arrays by reference, no terminal functions, no classes), so   |
//| ea/test compiles this file with g++ and checks each decision      |
//| against the vectors in ea/testdata/decisions.json.                 |
//+------------------------------------------------------------------+
#ifndef KOPITRA_LOGIC_MQH
#define KOPITRA_LOGIC_MQH

//+------------------------------------------------------------------+
//| Magic numbers                                                     |
//+------------------------------------------------------------------+
/** Decimal digits of an unsigned 64-bit value (MQL's IntegerToString prints a long, signed). */
string KpUlongToString(const ulong value)
  {
   if(value == 0)
      return "0";
   string out = "";
   ulong v = value;
   while(v > 0)
     {
      out = CharToString((uchar)('0' + (int)(v % 10))) + out;
      v /= 10;
     }
   return out;
  }

/**
 * A magic number as it goes on the wire: a decimal string. MT5's DEAL_MAGIC/POSITION_MAGIC is
 * an unsigned 64-bit value read through a long; MT4's OrderMagicNumber() is a signed int.
 */
string KpMagicString(const long magic, const bool unsigned64)
  {
   if(unsigned64)
      return KpUlongToString((ulong)magic);
   return IntegerToString(magic);
  }

#endif // KOPITRA_LOGIC_MQH
