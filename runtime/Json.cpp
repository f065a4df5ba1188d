//===- Json.cpp - a small strict JSON reader and writer --------------------===//
//
// A recursive-descent RFC 8259 parser (depth-limited, so the recursion is bounded)
// and a compact writer; see Json.h. Kept free of any package so the runtime-only
// build needs nothing but the C++ standard library.
//
//===----------------------------------------------------------------------===//
#include "runtime/Json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
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
  if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// Appends code point `cp` (at most U+10FFFF, not a surrogate) as UTF-8.
static void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

namespace {

/// Parses one text; every method returns false after recording the first error.
class Parser {
public:
  Parser(const std::string &text, JsonError &error) : text_(text), error_(error) {}

  /// A whole document: one value, optionally surrounded by whitespace.
  bool parseDocument(JsonValue &out) {
    if (!parseValue(out, 0))
      return false;
    skipSpace();
    return pos_ == text_.size() || fail("unexpected text after the JSON value");
  }

private:
  const std::string &text_;
  JsonError &error_;
  size_t pos_ = 0;

  /// Records `message` at the current position; returns false.
  bool fail(const std::string &message) {
    error_.offset = pos_;
    error_.message = message;
    return false;
  }
  /// Skips the four RFC 8259 whitespace characters.
  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  /// The current byte, or '\0' at the end (never a valid token start).
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  /// Consumes `c` (after whitespace) if it is next.
  bool consume(char c) {
    skipSpace();
    if (peek() != c)
      return false;
    ++pos_;
    return true;
  }
  bool isDigit() const { return peek() >= '0' && peek() <= '9'; }

  /// A value; `depth` counts the arrays and objects around it.
  bool parseValue(JsonValue &out, int depth) {
    skipSpace();
    char c = peek();
    if (c == '{' || c == '[') {
      if (depth == kMaxJsonDepth)
        return fail("nesting deeper than " + std::to_string(kMaxJsonDepth));
      ++pos_;
      bool isObject = c == '{';
      std::set<std::string> keys; // std::map-like cost, unlike a linear find()
      out.kind = isObject ? JsonValue::Kind::Object : JsonValue::Kind::Array;
      if (consume(isObject ? '}' : ']'))
        return true;
      do {
        JsonValue *element;
        if (isObject) {
          skipSpace();
          size_t keyOffset = pos_;
          std::string key;
          if (peek() != '"')
            return fail("expected a string key");
          if (!parseString(key))
            return false;
          if (!keys.insert(key).second) {
            error_.duplicateKey = true;
            error_.key = key;
            pos_ = keyOffset;
            return fail("duplicate key \"" + key + "\"");
          }
          if (!consume(':'))
            return fail("expected ':'");
          out.object.emplace_back(std::move(key), JsonValue());
          element = &out.object.back().second;
        } else {
          out.array.emplace_back();
          element = &out.array.back();
        }
        if (!parseValue(*element, depth + 1))
          return false;
      } while (consume(','));
      return consume(isObject ? '}' : ']') ||
             fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (c == '"') {
      out.kind = JsonValue::Kind::String;
      return parseString(out.string);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(out);
    for (const char *word : {"true", "false", "null"})
      if (text_.compare(pos_, std::char_traits<char>::length(word), word) == 0) {
        pos_ += std::char_traits<char>::length(word);
        out.kind = word[0] == 'n' ? JsonValue::Kind::Null : JsonValue::Kind::Bool;
        out.boolean = word[0] == 't';
        return true;
      }
    return fail(pos_ == text_.size() ? "unexpected end of text" : "expected a value");
  }

  /// Four hex digits after "\u".
  bool parseHex4(uint32_t &cp) {
    cp = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      char h = peek();
      int digit = h >= '0' && h <= '9'   ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                         : -1;
      if (digit < 0)
        return fail("expected four hex digits after \\u");
      cp = cp * 16 + uint32_t(digit);
    }
    return true;
  }

  /// A string literal starting at the '"'; escapes are decoded into UTF-8.
  bool parseString(std::string &out) {
    ++pos_;
    while (true) {
      if (pos_ == text_.size())
        return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("control character in a string");
      if (c != '\\') {
        size_t n = utf8Length(text_, pos_);
        if (n == 0)
          return fail("ill-formed UTF-8 in a string");
        out.append(text_, pos_, n);
        pos_ += n;
        continue;
      }
      ++pos_;
      char e = peek();
      static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
      bool simple = false;
      for (int i = 0; escapes[i]; i += 2)
        if (e == escapes[i]) {
          out += escapes[i + 1];
          simple = true;
          break;
        }
      if (simple) {
        ++pos_;
        continue;
      }
      if (e != 'u')
        return fail("invalid escape in a string");
      ++pos_;
      uint32_t cp, low;
      if (!parseHex4(cp))
        return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail("unpaired low surrogate in a \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (text_.compare(pos_, 2, "\\u") != 0)
          return fail("high surrogate not followed by a \\u low surrogate");
        pos_ += 2;
        if (!parseHex4(low))
          return false;
        if (low < 0xDC00 || low > 0xDFFF)
          return fail("high surrogate not followed by a \\u low surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      appendUtf8(out, cp);
    }
  }

  /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool parseNumber(JsonValue &out) {
    size_t start = pos_;
    bool negative = peek() == '-', integer = true;
    pos_ += negative;
    if (!isDigit())
      return fail("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9')
      return fail("leading zero in a number");
    uint64_t value = 0;
    bool fits = true;
    for (; isDigit(); ++pos_) {
      uint64_t digit = uint64_t(peek() - '0');
      fits = fits && value <= (UINT64_MAX - digit) / 10;
      value = value * 10 + digit;
    }
    if (peek() == '.') {
      integer = false;
      ++pos_;
      if (!isDigit())
        return fail("expected a digit after '.'");
      while (isDigit())
        ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (!isDigit())
        return fail("expected a digit in the exponent");
      while (isDigit())
        ++pos_;
    }
    out.kind = JsonValue::Kind::Number;
    out.isUint = integer && !negative && fits;
    out.uint = out.isUint ? value : 0;
    // The grammar above is a subset of strtod's, so strtod reads exactly this text
    // (in the C locale's number format; the runtime never calls setlocale).
    out.number = std::strtod(text_.substr(start, pos_ - start).c_str(), nullptr);
    if (!std::isfinite(out.number)) {
      pos_ = start;
      return fail("number out of range");
    }
    return true;
  }
};

} // namespace

std::optional<JsonValue> parseJson(const std::string &text, JsonError *error) {
  JsonError local;
  JsonError &err = error ? *error : local;
  err = JsonError();
  JsonValue value;
  if (!Parser(text, err).parseDocument(value))
    return std::nullopt;
  return value;
}

void appendJsonString(std::string &out, const std::string &text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    const char *escape = c == '"'    ? "\\\""
                         : c == '\\' ? "\\\\"
                         : c == '\b' ? "\\b"
                         : c == '\f' ? "\\f"
                         : c == '\n' ? "\\n"
                         : c == '\r' ? "\\r"
                         : c == '\t' ? "\\t"
                                     : nullptr;
    size_t n = utf8Length(text, i);
    if (escape) {
      out += escape;
    } else if (c < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", unsigned(c));
      out += hex;
    } else if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for one ill-formed byte
    } else {
      out.append(text, i, n);
      i += n;
      continue;
    }
    ++i;
  }
  out += '"';
}

/// Appends `value` to `out` (see writeJson).
static void appendJson(std::string &out, const JsonValue &value) {
  switch (value.kind) {
  case JsonValue::Kind::Null: out += "null"; return;
  case JsonValue::Kind::Bool: out += value.boolean ? "true" : "false"; return;
  case JsonValue::Kind::String: appendJsonString(out, value.string); return;
  case JsonValue::Kind::Number:
    if (value.isUint) {
      out += std::to_string(value.uint);
    } else if (!std::isfinite(value.number)) {
      out += "null";
    } else {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.17g", value.number);
      out += buffer;
    }
    return;
  case JsonValue::Kind::Array:
  case JsonValue::Kind::Object: {
    bool isObject = value.kind == JsonValue::Kind::Object;
    out += isObject ? '{' : '[';
    size_t count = isObject ? value.object.size() : value.array.size();
    for (size_t i = 0; i < count; ++i) {
      if (i)
        out += ',';
      if (isObject) {
        appendJsonString(out, value.object[i].first);
        out += ':';
      }
      appendJson(out, isObject ? value.object[i].second : value.array[i]);
    }
    out += isObject ? '}' : ']';
    return;
  }
  }
}

std::string writeJson(const JsonValue &value) {
  std::string out;
  appendJson(out, value);
  return out;
}

} // namespace attnc
