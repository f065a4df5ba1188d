//===- Json.h - a small strict JSON reader and writer -------------*- C++ -*-===//
//
// The runtime must build with the C++ standard library alone, so the safetensors
// header is read and written with this instead of a JSON package. The reader accepts
// exactly RFC 8259 text (no byte order mark, comments, trailing commas, leading zeros,
// raw control characters or ill-formed UTF-8) and also rejects duplicate object keys
// and nesting deeper than kMaxJsonDepth. Objects keep their members in file order.
// Integers are kept exact up to 2^64 - 1. No exceptions: failures are a JsonError.
// The writer is what the safetensors header needs: string literals (numbers and
// punctuation are plain text).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_JSON_H
#define ATTNC_RUNTIME_JSON_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnc {

/// Arrays and objects nested deeper than this are rejected ("[[1]]" has depth 2).
constexpr int kMaxJsonDepth = 64;

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  /// Every number, rounded to the nearest double.
  double number = 0;
  /// True for a number written as a plain non-negative integer (no '-', fraction or
  /// exponent) that fits in 64 bits; `uint` is then its exact value.
  bool isUint = false;
  uint64_t uint = 0;
  std::string string; ///< UTF-8, escapes decoded
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object; ///< file order, unique keys

  bool isObject() const { return kind == Kind::Object; } ///< kind == Object
  bool isArray() const { return kind == Kind::Array; }   ///< kind == Array
  bool isString() const { return kind == Kind::String; } ///< kind == String
  /// The member named `key`; null if there is none or this is not an object.
  const JsonValue *find(const std::string &key) const;
};

struct JsonError {
  size_t offset = 0;         ///< byte offset in the text where the error was found
  std::string message;       ///< what is wrong, e.g. "expected ':'"
  bool duplicateKey = false; ///< the error is a repeated object key...
  std::string key;           ///< ...and this is the key (decoded)
};

/// Parses one JSON value surrounded by optional whitespace. On failure returns
/// nothing and, if `error` is given, describes the first problem there.
std::optional<JsonValue> parseJson(const std::string &text, JsonError *error = nullptr);

/// Appends `text` as a JSON string literal: '"', '\\' and control characters are
/// escaped (\b \f \n \r \t, else \u00xx), other bytes are copied; a byte that is not
/// part of well-formed UTF-8 becomes U+FFFD so the output is always valid JSON.
void appendJsonString(std::string &out, const std::string &text);

} // namespace attnc

#endif // ATTNC_RUNTIME_JSON_H
