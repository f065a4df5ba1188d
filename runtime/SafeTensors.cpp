//===- SafeTensors.cpp - read and write .safetensors files -----------------===//
#include "runtime/SafeTensors.h"

#include "runtime/Json.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace attnc {

static const char *fileDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "F32";
  case DType::F16: return "F16";
  case DType::BF16: return "BF16";
  case DType::I32: return "I32";
  case DType::I64: return "I64";
  }
  return "?";
}

static bool parseFileDType(const std::string &name, DType &dtype) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64})
    if (name == fileDTypeName(d)) {
      dtype = d;
      return true;
    }
  return false;
}

Result<TensorMap> parseSafeTensors(const std::string &bytes, const std::string &what) {
  auto fail = [&](const std::string &message) {
    return Status::error(what + ": " + message);
  };
  if (bytes.size() < 8)
    return fail("not a safetensors file (shorter than its 8-byte header length)");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | uint8_t(bytes[size_t(i)]);
  if (headerLen > bytes.size() - 8)
    return fail("header length " + std::to_string(headerLen) +
                " exceeds the file size");
  // As with the nlohmann::json reader used before (and for files in the wild padded
  // with NULs instead of spaces): a NUL byte ends the header text, and a leading UTF-8
  // byte order mark is skipped. Otherwise the header must be strict JSON.
  std::string headerText = bytes.substr(8, headerLen);
  headerText.resize(std::min(headerText.find('\0'), headerText.size()));
  if (headerText.compare(0, 3, "\xEF\xBB\xBF") == 0)
    headerText.erase(0, 3);
  JsonError jsonError;
  std::optional<JsonValue> header = parseJson(headerText, &jsonError);
  if (!header && jsonError.duplicateKey)
    return fail("the header has duplicate key '" + jsonError.key + "'");
  if (!header || !header->isObject())
    return fail("the header is not a JSON object");
  size_t dataStart = 8 + headerLen;
  size_t dataSize = bytes.size() - dataStart;

  // Visit the entries in name order, as when the header was parsed into a sorted map,
  // so which error a file with several bad entries gets does not change.
  std::vector<const std::pair<std::string, JsonValue> *> members;
  for (const auto &member : header->object)
    members.push_back(&member);
  std::sort(members.begin(), members.end(),
            [](const auto *a, const auto *b) { return a->first < b->first; });

  TensorMap tensors;
  for (const auto *member : members) {
    const std::string &name = member->first;
    if (name == "__metadata__")
      continue;
    const JsonValue &entry = member->second;
    std::string where = "tensor '" + name + "'";
    if (!entry.isObject())
      return fail(where + " has no dtype/shape/data_offsets entry");
    const JsonValue *dt = entry.find("dtype");
    const JsonValue *sh = entry.find("shape");
    const JsonValue *off = entry.find("data_offsets");
    if (!dt || !dt->isString())
      return fail(where + " has no dtype");
    DType dtype;
    if (!parseFileDType(dt->string, dtype))
      return fail(where + " has unsupported dtype " + dt->string +
                  " (expected F32, F16, BF16, I32 or I64)");
    if (!sh || !sh->isArray())
      return fail(where + " has no shape");
    std::vector<int64_t> shape;
    for (const JsonValue &d : sh->array) {
      if (!d.isUint || d.uint > (uint64_t(1) << 40))
        return fail(where + " has an invalid shape");
      shape.push_back(int64_t(d.uint));
    }
    uint64_t byteSize = 0;
    if (!tensorByteSize(shape, dtypeSize(dtype), byteSize))
      return fail(where + " is too large (more than 2^40 bytes)");
    uint64_t numel = byteSize / dtypeSize(dtype);
    if (!off || !off->isArray() || off->array.size() != 2 || !off->array[0].isUint ||
        !off->array[1].isUint)
      return fail(where + " has invalid data_offsets");
    uint64_t begin = off->array[0].uint, end = off->array[1].uint;
    if (begin > end || end > dataSize)
      return fail(where + " has data_offsets outside the file");
    if (end - begin != numel * dtypeSize(dtype))
      return fail(where + " has " + std::to_string(end - begin) +
                  " bytes of data but its shape and dtype need " +
                  std::to_string(numel * dtypeSize(dtype)));
    Result<Tensor> created = Tensor::create(dtype, shape, name);
    if (!created)
      return fail(created.status().message());
    Tensor tensor = created.take();
    if (numel)
      std::memcpy(tensor.data(), bytes.data() + dataStart + begin, end - begin);
    tensors.emplace(name, std::move(tensor));
  }
  return tensors;
}

Result<TensorMap> readSafeTensors(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseSafeTensors(buffer.str(), path);
}

/// Copies a strided view into contiguous bytes.
static void appendContiguous(const TensorView &view, std::string &out) {
  size_t elt = dtypeSize(view.dtype);
  int64_t n = view.numel();
  if (n == 0)
    return;
  std::vector<int64_t> index(view.shape.size(), 0);
  const char *base = static_cast<const char *>(view.data);
  for (int64_t i = 0; i < n; ++i) {
    out.append(base + view.offsetOf(index.data()) * int64_t(elt), elt);
    nextIndex(index, view.shape);
  }
}

std::string serializeSafeTensors(const std::map<std::string, TensorView> &tensors) {
  // Compact JSON with each entry's keys in sorted order, byte for byte what the
  // nlohmann::json writer used before produced.
  std::string headerText = "{", data;
  for (const auto &[name, view] : tensors) {
    size_t begin = data.size();
    appendContiguous(view, data);
    if (headerText.size() > 1)
      headerText += ',';
    appendJsonString(headerText, name);
    headerText += ":{\"data_offsets\":[" + std::to_string(begin) + "," +
                  std::to_string(data.size()) + "],\"dtype\":\"" +
                  fileDTypeName(view.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < view.shape.size(); ++i)
      headerText += (i ? "," : "") + std::to_string(view.shape[i]);
    headerText += "]}";
  }
  headerText += '}';
  while ((8 + headerText.size()) % 8 != 0)
    headerText += ' ';
  std::string out;
  uint64_t len = headerText.size();
  for (int i = 0; i < 8; ++i)
    out += char((len >> (8 * i)) & 0xFF);
  out += headerText;
  out += data;
  return out;
}

Status writeSafeTensors(const std::string &path,
                        const std::map<std::string, TensorView> &tensors) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return Status::error("cannot write '" + path + "'");
  std::string bytes = serializeSafeTensors(tensors);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out)
    return Status::error("error writing '" + path + "'");
  return Status::ok();
}

} // namespace attnc
