//===- JsonSourceMap.cpp - where each JSON value sits in its file ----------===//
//
// A small scanner over already-validated JSON. It never trusts its input: every read
// is bounds-checked and nesting is capped, so a malformed document yields a partial
// map, never a crash.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/JsonSourceMap.h"

#include <set>

namespace attnc::frontend {

static constexpr unsigned kMaxDepth = 512;

JsonSourceMap::JsonSourceMap(std::string_view text) : text(text) {
  lineStarts.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n')
      lineStarts.push_back(i + 1);
  // nlohmann skips a UTF-8 byte-order mark; so must we.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF")
    pos = 3;
  skipSpace();
  scanValue("", pos);
}

std::string JsonSourceMap::child(const std::string &parent, std::string_view key) {
  std::string escaped;
  for (char c : key) {
    if (c == '~')
      escaped += "~0";
    else if (c == '/')
      escaped += "~1";
    else
      escaped += c;
  }
  return parent + "/" + escaped;
}

void JsonSourceMap::skipSpace() {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                               text[pos] == '\n' || text[pos] == '\r'))
    ++pos;
}

void JsonSourceMap::scanString() {
  // pos is at the opening quote.
  ++pos;
  while (pos < text.size() && text[pos] != '"') {
    if (text[pos] == '\\')
      ++pos;
    ++pos;
  }
  if (pos < text.size())
    ++pos;
}

void JsonSourceMap::scanValue(const std::string &path, size_t keyAt) {
  entries[path] = {keyAt, pos};
  if (pos >= text.size() || ++depth > kMaxDepth) {
    --depth;
    return;
  }
  char c = text[pos];
  if (c == '"') {
    scanString();
  } else if (c == '{') {
    ++pos;
    std::set<std::string> seen;
    skipSpace();
    while (pos < text.size() && text[pos] != '}') {
      if (text[pos] != '"')
        break;
      size_t keyStart = pos;
      std::string key;
      std::vector<size_t> ignored;
      if (!decodeJsonString(text, keyStart, key, ignored))
        break;
      scanString();
      if (!seen.insert(key).second && !duplicate)
        duplicate = std::make_pair(keyStart, key);
      skipSpace();
      if (pos >= text.size() || text[pos] != ':')
        break;
      ++pos;
      skipSpace();
      scanValue(child(path, key), keyStart);
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        skipSpace();
      }
    }
    if (pos < text.size())
      ++pos;
  } else if (c == '[') {
    ++pos;
    skipSpace();
    size_t index = 0;
    while (pos < text.size() && text[pos] != ']') {
      size_t before = pos;
      scanValue(child(path, std::to_string(index++)), pos);
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        skipSpace();
      }
      if (pos == before)
        break;
    }
    if (pos < text.size())
      ++pos;
  } else {
    // number, true, false, null
    while (pos < text.size() && text[pos] != ',' && text[pos] != '}' &&
           text[pos] != ']' && text[pos] != ' ' && text[pos] != '\n' &&
           text[pos] != '\t' && text[pos] != '\r')
      ++pos;
  }
  --depth;
}

size_t JsonSourceMap::valueOffset(const std::string &path) const {
  auto it = entries.find(path);
  return it == entries.end() ? 0 : it->second.value;
}

size_t JsonSourceMap::keyOffset(const std::string &path) const {
  auto it = entries.find(path);
  return it == entries.end() ? 0 : it->second.key;
}

size_t JsonSourceMap::stringCharOffset(const std::string &path, size_t index) const {
  size_t quote = valueOffset(path);
  std::string decoded;
  std::vector<size_t> map;
  if (!decodeJsonString(text, quote, decoded, map) || map.empty())
    return quote;
  return index < map.size() ? map[index] : map.back();
}

std::pair<unsigned, unsigned> JsonSourceMap::lineColumn(size_t offset) const {
  size_t line = 0, lo = 0, hi = lineStarts.size();
  while (lo < hi) { // last line start <= offset
    size_t mid = (lo + hi) / 2;
    if (lineStarts[mid] <= offset) {
      line = mid;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return {unsigned(line + 1), unsigned(offset - lineStarts[line] + 1)};
}

static int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool readHex4(std::string_view text, size_t at, unsigned &value) {
  if (at + 4 > text.size())
    return false;
  value = 0;
  for (size_t i = 0; i < 4; ++i) {
    int h = hexValue(text[at + i]);
    if (h < 0)
      return false;
    value = value * 16 + unsigned(h);
  }
  return true;
}

bool decodeJsonString(std::string_view text, size_t quote, std::string &decoded,
                      std::vector<size_t> &decodedToRaw) {
  decoded.clear();
  decodedToRaw.clear();
  if (quote >= text.size() || text[quote] != '"')
    return false;
  size_t i = quote + 1;
  auto emit = [&](char c, size_t raw) {
    decoded += c;
    decodedToRaw.push_back(raw);
  };
  while (i < text.size() && text[i] != '"') {
    size_t start = i;
    if (text[i] != '\\') {
      emit(text[i], i);
      ++i;
      continue;
    }
    if (i + 1 >= text.size())
      return false;
    char e = text[i + 1];
    i += 2;
    switch (e) {
    case '"': emit('"', start); break;
    case '\\': emit('\\', start); break;
    case '/': emit('/', start); break;
    case 'b': emit('\b', start); break;
    case 'f': emit('\f', start); break;
    case 'n': emit('\n', start); break;
    case 'r': emit('\r', start); break;
    case 't': emit('\t', start); break;
    case 'u': {
      unsigned cp;
      if (!readHex4(text, i, cp))
        return false;
      i += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= text.size() && text[i] == '\\' &&
          text[i + 1] == 'u') {
        unsigned lo;
        if (readHex4(text, i + 2, lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
      }
      // UTF-8 encode; every byte maps to the escape's backslash.
      if (cp < 0x80) {
        emit(char(cp), start);
      } else if (cp < 0x800) {
        emit(char(0xC0 | (cp >> 6)), start);
        emit(char(0x80 | (cp & 0x3F)), start);
      } else if (cp < 0x10000) {
        emit(char(0xE0 | (cp >> 12)), start);
        emit(char(0x80 | ((cp >> 6) & 0x3F)), start);
        emit(char(0x80 | (cp & 0x3F)), start);
      } else {
        emit(char(0xF0 | (cp >> 18)), start);
        emit(char(0x80 | ((cp >> 12) & 0x3F)), start);
        emit(char(0x80 | ((cp >> 6) & 0x3F)), start);
        emit(char(0x80 | (cp & 0x3F)), start);
      }
      break;
    }
    default:
      return false;
    }
  }
  if (i >= text.size())
    return false;
  decodedToRaw.push_back(i); // the closing quote
  return true;
}

} // namespace attnc::frontend
