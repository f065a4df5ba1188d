//===- Inputs.cpp - building attention calls for the command line ----------===//
#include "tools/common/Inputs.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <cmath>
#include <random>
#include <sstream>
#include <tuple>

namespace attnc {

AttentionCall CallTensors::call() const {
  AttentionCall c;
  c.q = q.view();
  c.k = k.view();
  c.v = v.view();
  c.out = out.view();
  c.lse = lse.view();
  for (const auto &[name, t] : buffers)
    c.buffers[name] = t.view();
  c.scalars = scalars;
  return c;
}

Status CallTensors::allocateOutputs(const VariantDesc &variant) {
  int64_t B = q.shape()[0], Q = q.shape()[2];
  Result<Tensor> o = Tensor::create(variant.dtype, {B, variant.headsQ, Q, variant.headDimV}, "out");
  if (!o)
    return o.status();
  Result<Tensor> l = Tensor::create(DType::F32, {B, variant.headsQ, Q}, "lse");
  if (!l)
    return l.status();
  out = o.take();
  lse = l.take();
  out.poison();
  lse.poison();
  return Status::ok();
}

bool parseShape(const std::string &text, int64_t &b, int64_t &q, int64_t &kv) {
  std::stringstream ss(text);
  char c1 = 0, c2 = 0;
  if (!(ss >> b >> c1 >> q >> c2 >> kv) || c1 != ',' || c2 != ',')
    return false;
  std::string rest;
  ss >> rest;
  const int64_t limit = int64_t(1) << 31;
  return rest.empty() && b > 0 && q > 0 && kv > 0 && b < limit && q < limit && kv < limit;
}

Status parseScalarOverrides(const VariantDesc &variant,
                            const std::vector<std::string> &overrides,
                            std::map<std::string, ScalarValue> &scalars) {
  for (const std::string &entry : overrides) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos)
      return Status::error("--scalar expects NAME=VALUE, got '" + entry + "'");
    std::string name = entry.substr(0, eq), value = entry.substr(eq + 1);
    auto decl = std::find_if(variant.scalars.begin(), variant.scalars.end(),
                             [&](const ScalarDecl &d) { return d.name == name; });
    if (decl == variant.scalars.end())
      return Status::error("--scalar: variant '" + variant.name +
                           "' declares no scalar '" + name + "'");
    ScalarValue v;
    v.type = decl->type;
    char *endp = nullptr;
    if (v.type == DType::F32) {
      v.f = std::strtod(value.c_str(), &endp);
    } else {
      v.i = std::strtoll(value.c_str(), &endp, 10);
      if (v.type == DType::I32 && (v.i < INT32_MIN || v.i > INT32_MAX))
        return Status::error("--scalar " + name + ": value does not fit in i32");
    }
    if (value.empty() || *endp != '\0')
      return Status::error("--scalar " + name + ": '" + value + "' is not a valid " +
                           dtypeName(v.type));
    scalars[name] = v;
  }
  return Status::ok();
}

/// Fills `t` from `dist` (row-major order: the values depend on the seed alone).
template <typename Distribution>
static void fillRandom(Tensor &t, std::mt19937_64 &rng, Distribution dist) {
  TensorView view = t.view();
  int64_t n = t.numel();
  std::vector<int64_t> index(view.shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    view.set(index.data(), dist(rng));
    nextIndex(index, view.shape);
  }
}

Result<CallTensors> randomCall(const VariantDesc &variant, int64_t batch, int64_t qLen,
                               int64_t kvLen, uint64_t seed,
                               const std::map<std::string, ScalarValue> &scalarOverrides,
                               const std::map<std::string, Tensor> &bufferOverrides) {
  std::mt19937_64 rng(seed);
  CallTensors t;
  for (auto [name, dst, shape] :
       {std::tuple<const char *, Tensor *, std::vector<int64_t>>{
            "q", &t.q, {batch, variant.headsQ, qLen, variant.headDim}},
        {"k", &t.k, {batch, variant.headsKV, kvLen, variant.headDim}},
        {"v", &t.v, {batch, variant.headsKV, kvLen, variant.headDimV}}}) {
    Result<Tensor> created = Tensor::create(variant.dtype, shape, name);
    if (!created)
      return created.status();
    *dst = created.take();
  }
  std::normal_distribution<float> normal(0.0f, 1.0f);
  fillRandom(t.q, rng, normal);
  fillRandom(t.k, rng, normal);
  fillRandom(t.v, rng, normal);
  AttentionCall shapeOnly;
  shapeOnly.q = t.q.view();
  shapeOnly.k = t.k.view();
  for (const BufferDecl &decl : variant.buffers) {
    std::vector<int64_t> shape;
    for (int64_t d : decl.shape)
      shape.push_back(resolveDim(d, variant, shapeOnly));
    Result<Tensor> created = Tensor::create(decl.dtype, shape, decl.name);
    if (!created)
      return created.status();
    Tensor buf = created.take();
    if (auto given = bufferOverrides.find(decl.name); given != bufferOverrides.end()) {
      if (given->second.shape() != shape)
        return Status::error("--buffer " + decl.name + ": the file's tensor has shape " +
                             given->second.view().shapeString() + ", the call needs " +
                             buf.view().shapeString());
      buf = Tensor(decl.dtype, shape);
      std::memcpy(buf.data(), given->second.data(), size_t(buf.numel()) * dtypeSize(decl.dtype));
    } else if (decl.dtype == DType::F32) {
      fillRandom(buf, rng, std::uniform_real_distribution<float>(-1.0f, 1.0f));
    } else {
      int64_t last = shape.back(), rows = buf.numel() / last;
      std::uniform_int_distribution<int64_t> dist(0, 7);
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int64_t> values{};
        values.resize(size_t(last));
        for (int64_t &v : values)
          v = dist(rng);
        std::sort(values.begin(), values.end());
        for (int64_t c = 0; c < last; ++c) {
          if (decl.dtype == DType::I32)
            buf.as<int32_t>()[r * last + c] = int32_t(values[size_t(c)]);
          else
            buf.as<int64_t>()[r * last + c] = values[size_t(c)];
        }
      }
    }
    t.buffers.emplace(decl.name, std::move(buf));
  }
  for (const ScalarDecl &decl : variant.scalars) {
    ScalarValue v;
    v.type = decl.type;
    auto it = scalarOverrides.find(decl.name);
    t.scalars[decl.name] = it != scalarOverrides.end() ? it->second : v;
  }
  if (Status s = t.allocateOutputs(variant); !s)
    return s;
  return t;
}

Status parseBufferOverrides(const VariantDesc &variant,
                            const std::vector<std::string> &overrides,
                            std::map<std::string, Tensor> &buffers) {
  for (const std::string &entry : overrides) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
      return Status::error("--buffer expects NAME=FILE.safetensors, got '" + entry + "'");
    std::string name = entry.substr(0, eq), path = entry.substr(eq + 1);
    auto decl = std::find_if(variant.buffers.begin(), variant.buffers.end(),
                             [&](const BufferDecl &d) { return d.name == name; });
    if (decl == variant.buffers.end())
      return Status::error("--buffer: variant '" + variant.name + "' declares no buffer '" +
                           name + "'");
    Result<TensorMap> read = readSafeTensors(path);
    if (!read)
      return Status::error("--buffer " + name + ": " + read.status().message());
    auto it = read->find(name);
    if (it == read->end() && read->size() == 1)
      it = read->begin();
    if (it == read->end())
      return Status::error("--buffer " + name + ": " + path + " has no tensor '" + name +
                           "' (and more than one other)");
    if (it->second.dtype() != decl->dtype)
      return Status::error("--buffer " + name + ": tensor '" + it->first + "' of " + path +
                           " has dtype " + dtypeName(it->second.dtype()) + ", the buffer is " +
                           dtypeName(decl->dtype));
    buffers[name] = std::move(it->second);
  }
  return Status::ok();
}

std::string describeRandomInputs(const VariantDesc &variant,
                                 const std::map<std::string, ScalarValue> &scalarOverrides,
                                 const std::map<std::string, Tensor> &bufferOverrides) {
  std::string text;
  for (const BufferDecl &b : variant.buffers)
    text += (text.empty() ? "" : "; ") + b.name + " " +
            (bufferOverrides.count(b.name) ? std::string("from --buffer")
             : b.dtype == DType::F32       ? std::string("~ U(-1, 1)")
                                           : std::string("sorted ids in [0, 8)"));
  for (const ScalarDecl &s : variant.scalars) {
    auto it = scalarOverrides.find(s.name);
    std::string value = it == scalarOverrides.end() ? "0 (default)"
                        : s.type == DType::F32       ? std::to_string(it->second.f)
                                                     : std::to_string(it->second.i);
    text += (text.empty() ? "" : "; ") + s.name + " = " + value;
  }
  return text.empty() ? "" : "inputs: q, k, v ~ N(0, 1); " + text + " (--buffer, --scalar)";
}

/// The machine's available memory in bytes (MemAvailable), or 0 if unknown.
static uint64_t availableMemory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemAvailable:")
      return kib * 1024;
    meminfo.ignore(1 << 10, '\n');
  }
  return 0;
}

static std::string gigabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", double(bytes) / 1e9);
  return buf;
}

Status checkMemoryEstimate(const VariantDesc &variant, int64_t batch, int64_t qLen,
                           int64_t kvLen, int copies) {
  // In doubles: the products can exceed 2^64 for absurd shapes.
  double elt = double(dtypeSize(variant.dtype)), B = double(batch);
  double bytes = B * double(variant.headsQ) * double(qLen) * (variant.headDim + variant.headDimV) * elt +
                 B * double(variant.headsKV) * double(kvLen) * (variant.headDim + variant.headDimV) * elt +
                 B * double(variant.headsQ) * double(qLen) * 4;
  AttentionCall shape;
  shape.q.shape = {batch, variant.headsQ, qLen, variant.headDim};
  shape.k.shape = {batch, variant.headsKV, kvLen, variant.headDim};
  for (const BufferDecl &b : variant.buffers) {
    double n = double(dtypeSize(b.dtype));
    for (int64_t d : b.shape)
      n *= double(resolveDim(d, variant, shape));
    bytes += n;
  }
  bytes *= copies;
  uint64_t limit = availableMemory();
  std::string source = "available memory";
  if (const char *env = std::getenv("ATTNC_MEMORY_LIMIT"); env && *env) {
    char *end = nullptr;
    double v = std::strtod(env, &end);
    double unit = *end == 'K' ? 1e3 : *end == 'M' ? 1e6 : *end == 'G' ? 1e9 : 1;
    if (v > 0 && (!limit || v * unit < double(limit))) {
      limit = uint64_t(v * unit);
      source = "ATTNC_MEMORY_LIMIT";
    }
  }
  if (limit && bytes > double(limit))
    return Status::error("B=" + std::to_string(batch) + " Q_LEN=" + std::to_string(qLen) +
                         " KV_LEN=" + std::to_string(kvLen) + " needs about " +
                         gigabytes(uint64_t(std::min(bytes, 1e19))) + " of tensors (" +
                         std::to_string(copies) + (copies > 1 ? " copies" : " copy") +
                         "), more than the " + gigabytes(limit) + " of " + source);
  return Status::ok();
}

/// Converts an F32 tensor to f16/bf16 (docs/spec.md, "Tensor files": F32 is accepted
/// for those specs).
static Tensor convertTo(const Tensor &src, DType dtype) {
  Tensor dst(dtype, src.shape()); // no larger than src, which was allocated
  TensorView from = src.view(), to = dst.view();
  std::vector<int64_t> index(src.shape().size(), 0);
  for (int64_t i = 0; i < src.numel(); ++i) {
    to.set(index.data(), from.get(index.data()));
    nextIndex(index, src.shape());
  }
  return dst;
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<CallTensors> callFromFile(const VariantDesc &variant, const std::string &path,
                                 Tensor *dout) {
  Result<TensorMap> read = readSafeTensors(path);
  if (!read)
    return read.status();
  TensorMap &tensors = *read;
  CallTensors t;
  auto take = [&](const std::string &name, DType dtype, bool allowF32,
                  Tensor &dst) -> Status {
    auto it = tensors.find(name);
    if (it == tensors.end())
      return Status::error(path + ": missing tensor '" + name + "' (" +
                           dtypeName(dtype) + ")");
    Tensor tensor = std::move(it->second);
    tensors.erase(it);
    if (tensor.dtype() != dtype) {
      if (!(allowF32 && tensor.dtype() == DType::F32))
        return Status::error(path + ": tensor '" + name + "' must have dtype " +
                             dtypeName(dtype) + ", got " + dtypeName(tensor.dtype()));
      tensor = convertTo(tensor, dtype);
    }
    dst = std::move(tensor);
    return Status::ok();
  };
  bool lowPrecision = variant.dtype != DType::F32;
  for (auto [name, dst] : {std::pair<const char *, Tensor *>{"q", &t.q}, {"k", &t.k}, {"v", &t.v}})
    if (Status s = take(name, variant.dtype, lowPrecision, *dst); !s)
      return s;
  if (dout)
    if (Status s = take("dout", variant.dtype, lowPrecision, *dout); !s)
      return s;
  auto expectRank = [&](const char *name, const Tensor &tensor) -> Status {
    if (tensor.shape().size() != 4)
      return Status::error(path + ": tensor '" + std::string(name) +
                           "' must have 4 dimensions, got " + shapeString(tensor.shape()));
    return Status::ok();
  };
  for (auto [name, tensor] : {std::pair<const char *, Tensor *>{"q", &t.q}, {"k", &t.k}, {"v", &t.v}})
    if (Status s = expectRank(name, *tensor); !s)
      return s;
  for (const BufferDecl &decl : variant.buffers) {
    Tensor buf;
    if (Status s = take(decl.name, decl.dtype, false, buf); !s)
      return s;
    t.buffers.emplace(decl.name, std::move(buf));
  }
  for (const ScalarDecl &decl : variant.scalars) {
    Tensor scalar;
    if (Status s = take(decl.name, decl.type, false, scalar); !s)
      return s;
    if (!scalar.shape().empty())
      return Status::error(path + ": scalar '" + decl.name +
                           "' must be a 0-d tensor, got shape " + shapeString(scalar.shape()));
    ScalarValue v;
    v.type = decl.type;
    if (decl.type == DType::F32)
      v.f = scalar.as<float>()[0];
    else if (decl.type == DType::I32)
      v.i = scalar.as<int32_t>()[0];
    else
      v.i = scalar.as<int64_t>()[0];
    t.scalars[decl.name] = v;
  }
  if (!tensors.empty())
    return Status::error(path + ": unexpected tensor '" + tensors.begin()->first +
                         "': variant '" + variant.name + "' takes q, k, v" +
                         (dout ? ", dout" : "") +
                         (variant.buffers.empty() ? "" : ", its buffers") +
                         (variant.scalars.empty() ? "" : ", its scalars"));
  if (t.q.shape()[0] < 1 || t.q.shape()[2] < 1 || t.k.shape()[2] < 1)
    return Status::error(path + ": B, Q_LEN and KV_LEN must be at least 1");
  if (Status s = t.allocateOutputs(variant); !s)
    return s;
  return t;
}

} // namespace attnc
