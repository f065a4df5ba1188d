//===- Json.cpp - a small strict JSON reader and writer --------------------===//
//
// A recursive-descent RFC 8259 parser (depth-limited, so the recursion is bounded)
// and a string writer; see Json.h. Free of any package so that the runtime-only build
// needs nothing but the C++ standard library.
//
//===----------------------------------------------------------------------===//
#include "runtime/Json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace attnc {

const JsonValue *JsonValue::find(const std::string &key) const {
  for (const auto &member : object)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

/// The length of the well-formed UTF-8 sequence at `text[i]` (RFC 3629: no overlong
/// forms, surrogates or code points above U+10FFFF), or 0 if it is ill-formed.
static size_t utf8Length(const std::string &text, size_t i) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80)
    return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > text.size())
    return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char d = static_cast<unsigned char>(text[i + k]);
    if ((d & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  bool bad = cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF);
  return bad ? 0 : n;
}

/// Appends code point `cp` (at most U+10FFFF, not a surrogate) as UTF-8.
static void appendUtf8(std::string &out, uint32_t cp) {
  int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  static const unsigned char lead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
  out += char(lead[n] | (cp >> (6 * (n - 1))));
  for (int k = n - 2; k >= 0; --k)
    out += char(0x80 | ((cp >> (6 * k)) & 0x3F));
}

namespace {

/// The state of one parse; every method returns false after recording an error.
struct Parser {
  const std::string &text;
  JsonError &error;
  size_t pos = 0;

  /// Records `message` at the current position; returns false.
  bool fail(const std::string &message) {
    error.offset = pos;
    error.message = message;
    return false;
  }
  /// The current byte, or '\0' at the end (never a valid token start).
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  /// Skips the four RFC 8259 whitespace characters.
  void skipSpace() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')
      ++pos;
  }
  /// Skips whitespace, then consumes `c` if it is next.
  bool consume(char c) {
    skipSpace();
    return peek() == c ? (++pos, true) : false;
  }
  /// Skips a run of decimal digits; false if there is none.
  bool digits() {
    size_t start = pos;
    while (peek() >= '0' && peek() <= '9')
      ++pos;
    return pos > start;
  }

  /// A value (after optional whitespace); `depth` counts the containers around it.
  bool parseValue(JsonValue &out, int depth) {
    skipSpace();
    char c = peek();
    if (c == '"') {
      out.kind = JsonValue::Kind::String;
      return parseString(out.string);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(out);
    if (c != '{' && c != '[') {
      for (const char *word : {"true", "false", "null"}) {
        size_t n = std::char_traits<char>::length(word);
        if (text.compare(pos, n, word) == 0) {
          pos += n;
          out.kind = c == 'n' ? JsonValue::Kind::Null : JsonValue::Kind::Bool;
          out.boolean = c == 't';
          return true;
        }
      }
      return fail(pos == text.size() ? "unexpected end of text" : "expected a value");
    }
    if (depth == kMaxJsonDepth)
      return fail("nesting deeper than " + std::to_string(kMaxJsonDepth));
    ++pos;
    bool isObject = c == '{';
    char close = isObject ? '}' : ']';
    out.kind = isObject ? JsonValue::Kind::Object : JsonValue::Kind::Array;
    if (consume(close))
      return true;
    std::set<std::string> keys; // not a linear find(): headers can be large
    do {
      if (!isObject) {
        out.array.emplace_back();
        if (!parseValue(out.array.back(), depth + 1))
          return false;
        continue;
      }
      skipSpace();
      size_t keyOffset = pos;
      std::string key;
      if (peek() != '"')
        return fail("expected a string key");
      if (!parseString(key))
        return false;
      if (!keys.insert(key).second) {
        error.duplicateKey = true;
        error.key = key;
        pos = keyOffset;
        return fail("duplicate key \"" + key + "\"");
      }
      if (!consume(':'))
        return fail("expected ':'");
      out.object.emplace_back(std::move(key), JsonValue());
      if (!parseValue(out.object.back().second, depth + 1))
        return false;
    } while (consume(','));
    return consume(close) || fail(std::string("expected ',' or '") + close + "'");
  }

  /// Four hex digits (after "\u") into `cp`.
  bool parseHex4(uint32_t &cp) {
    cp = 0;
    for (int i = 0; i < 4; ++i, ++pos) {
      char h = peek();
      int d = h >= '0' && h <= '9'   ? h - '0'
              : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                     : -1;
      if (d < 0)
        return fail("expected four hex digits after \\u");
      cp = cp * 16 + uint32_t(d);
    }
    return true;
  }

  /// A string literal starting at its '"'; escapes are decoded into UTF-8.
  bool parseString(std::string &out) {
    for (++pos;;) {
      if (pos == text.size())
        return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"')
        return ++pos, true;
      if (c < 0x20)
        return fail("control character in a string");
      if (c != '\\') {
        size_t n = utf8Length(text, pos);
        if (n == 0)
          return fail("ill-formed UTF-8 in a string");
        out.append(text, pos, n);
        pos += n;
        continue;
      }
      static const char letters[] = "\"\\/bfnrt", chars[] = "\"\\/\b\f\n\r\t";
      char e = ++pos < text.size() ? text[pos] : '\0';
      if (const char *hit = e ? std::strchr(letters, e) : nullptr) {
        out += chars[hit - letters];
        ++pos;
        continue;
      }
      if (e != 'u')
        return fail("invalid escape in a string");
      ++pos;
      uint32_t cp, low;
      if (!parseHex4(cp))
        return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail("unpaired low surrogate in a \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (text.compare(pos, 2, "\\u") != 0)
          return fail("high surrogate not followed by a \\u escape");
        pos += 2;
        if (!parseHex4(low))
          return false;
        if (low < 0xDC00 || low > 0xDFFF)
          return fail("high surrogate not followed by a low surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      appendUtf8(out, cp);
    }
  }

  /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; exact too if a plain uint64.
  bool parseNumber(JsonValue &out) {
    size_t start = pos;
    bool negative = peek() == '-';
    pos += negative;
    size_t intStart = pos;
    if (!digits())
      return fail("expected a digit");
    if (text[intStart] == '0' && pos - intStart > 1)
      return pos = intStart, fail("leading zero in a number");
    bool fits = true;
    out.kind = JsonValue::Kind::Number;
    for (size_t i = intStart; i < pos; ++i) {
      uint64_t d = uint64_t(text[i] - '0');
      fits = fits && out.uint <= (UINT64_MAX - d) / 10;
      out.uint = out.uint * 10 + d;
    }
    bool integer = true;
    if (peek() == '.') {
      integer = false;
      ++pos;
      if (!digits())
        return fail("expected a digit after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      ++pos;
      if (peek() == '+' || peek() == '-')
        ++pos;
      if (!digits())
        return fail("expected a digit in the exponent");
    }
    out.isUint = integer && !negative && fits;
    if (!out.isUint)
      out.uint = 0;
    // This grammar is a subset of strtod's, so strtod reads exactly this text (in
    // the C locale's number format; the runtime never calls setlocale).
    out.number = std::strtod(text.substr(start, pos - start).c_str(), nullptr);
    if (!std::isfinite(out.number))
      return pos = start, fail("number out of range");
    return true;
  }
};

} // namespace

std::optional<JsonValue> parseJson(const std::string &text, JsonError *error) {
  JsonError local;
  Parser parser{text, error ? *error : local};
  parser.error = JsonError();
  JsonValue value;
  if (!parser.parseValue(value, 0))
    return std::nullopt;
  parser.skipSpace();
  if (parser.pos != text.size()) {
    parser.fail("unexpected text after the JSON value");
    return std::nullopt;
  }
  return value;
}

void appendJsonString(std::string &out, const std::string &text) {
  static const char chars[] = "\"\\\b\f\n\r\t", letters[] = "\"\\bfnrt";
  out += '"';
  for (size_t i = 0, n; i < text.size(); i += n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    n = 1;
    if (const char *hit = c ? std::strchr(chars, c) : nullptr) {
      out += '\\';
      out += letters[hit - chars];
    } else if (c < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", unsigned(c));
      out += hex;
    } else if ((n = utf8Length(text, i)) == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for a byte that is not well-formed UTF-8
      n = 1;
    } else {
      out.append(text, i, n);
    }
  }
  out += '"';
}

} // namespace attnc
