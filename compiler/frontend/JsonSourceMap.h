//===- JsonSourceMap.h - where each JSON value sits in its file -*- C++ -*-===//
//
// nlohmann::json parses values but forgets positions. This index records, for every
// key and value of a document, its byte offset in the text, so that errors point at
// the offending field, and maps a character of a decoded JSON string back to its
// byte in the file (escapes make the two differ), so that expression errors point at
// the offending token. It also finds duplicate keys, which nlohmann accepts silently.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_JSONSOURCEMAP_H
#define ATTNC_COMPILER_FRONTEND_JSONSOURCEMAP_H

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnc::frontend {

class JsonSourceMap {
public:
  /// Indexes `text`, which must already be valid JSON (nlohmann accepted it).
  explicit JsonSourceMap(std::string_view text);

  /// Path of an object member / array element: parent path + "/" + key or index
  /// (RFC 6901 escaping of '~' and '/'). The root is "".
  static std::string child(const std::string &parent, std::string_view key);

  /// Offset of the first byte of the value at `path` (its quote, digit, brace...).
  size_t valueOffset(const std::string &path) const;
  /// Offset of the key of the member at `path` (its opening quote); for array
  /// elements and the root, the value's offset.
  size_t keyOffset(const std::string &path) const;
  /// Offset in the file of byte `index` of the decoded string value at `path`; one
  /// past the last character maps to the closing quote.
  size_t stringCharOffset(const std::string &path, size_t index) const;

  /// The first key that occurs twice in one object: (offset of the second key, key).
  std::optional<std::pair<size_t, std::string>> duplicateKey() const {
    return duplicate;
  }

  /// 1-based line and column (in bytes) of an offset.
  std::pair<unsigned, unsigned> lineColumn(size_t offset) const;

private:
  struct Entry {
    size_t key = 0, value = 0;
  };
  void scanValue(const std::string &path, size_t keyAt);
  void scanString();
  void skipSpace();

  std::string_view text;
  size_t pos = 0;
  unsigned depth = 0;
  std::map<std::string, Entry> entries;
  std::vector<size_t> lineStarts;
  std::optional<std::pair<size_t, std::string>> duplicate;
};

/// Decodes the JSON string literal starting at `text[quote]` (the opening quote).
/// Fills `decodedToRaw` with the file offset of each decoded byte (plus one entry for
/// the closing quote). Returns false on a malformed literal.
bool decodeJsonString(std::string_view text, size_t quote, std::string &decoded,
                      std::vector<size_t> &decodedToRaw);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_JSONSOURCEMAP_H
