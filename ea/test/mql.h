// The few MQL built-ins that ea/include/Kopitra/Logic.mqh uses, for compiling it with g++.
// MQL strings are UTF-16; the test vectors are ASCII, where one byte is one code unit.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

typedef std::string string;
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef long datetime;
static_assert(sizeof(long) == 8 && sizeof(ulong) == 8, "MQL long and ulong are 64-bit");

inline int StringLen(const string &s) { return (int)s.size(); }
inline ushort StringGetCharacter(const string &s, int i)
{
  return (i >= 0 && i < (int)s.size()) ? (ushort)(uchar)s[i] : 0;
}
inline string StringSubstr(const string &s, int start, int length = -1)
{
  if (start < 0 || start >= (int)s.size()) return "";
  return length < 0 ? s.substr(start) : s.substr(start, length);
}
inline int StringFind(const string &s, const string &what, int start = 0)
{
  std::string::size_type at = s.find(what, start < 0 ? 0 : start);
  return at == std::string::npos ? -1 : (int)at;
}
inline string CharToString(uchar c) { return string(1, (char)c); }
inline string IntegerToString(long v) { return std::to_string(v); }
inline double MathRound(double v) { return std::round(v); }
inline double MathAbs(double v) { return std::fabs(v); }
inline double MathFloor(double v) { return std::floor(v); }
inline double MathMin(double a, double b) { return a < b ? a : b; }
