//===- SafeTensorsFuzzer.cpp - libFuzzer target for the safetensors reader -===//
//
// Feeds arbitrary bytes to parseSafeTensors, the reader of every tensor file attnc
// and attnc-rt load (runtime/SafeTensors.h promises an error, never a read outside
// the file, for any malformed input). When a file parses, every byte of every
// tensor is read over its declared extent, so AddressSanitizer reports a tensor
// whose storage is smaller than its shape and dtype say; then the tensors are
// written with serializeSafeTensors and read back, and the names, dtypes, shapes
// and bytes must come back unchanged (and writing them again must give the same
// bytes). A mismatch aborts with what differs. SafeTensors.cpp, Json.cpp and
// Tensor.cpp are compiled into this target with coverage, AddressSanitizer and
// UndefinedBehaviorSanitizer instrumentation.
//
//===----------------------------------------------------------------------===//
#include "runtime/SafeTensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

using namespace attnc;

/// Reports a round-trip mismatch for `name` and aborts.
[[noreturn]] static void mismatch(const std::string &name, const char *what) {
  std::fprintf(stderr, "safetensors round trip changed tensor '%s': %s\n", name.c_str(),
               what);
  std::abort();
}

/// Reads every byte of `tensor` over the extent its shape and dtype declare (and
/// checks that its view agrees), so a short allocation is an ASan report.
static void touchAll(const std::string &name, const Tensor &tensor) {
  TensorView view = tensor.view();
  if (view.shape != tensor.shape() || view.dtype != tensor.dtype() ||
      view.strides != contiguousStrides(tensor.shape()))
    mismatch(name, "its view is not the contiguous view of its shape");
  size_t bytes = tensor.byteSize();
  if (bytes && !tensor.data())
    mismatch(name, "no storage for a non-empty tensor");
  const unsigned char *p = static_cast<const unsigned char *>(tensor.data());
  volatile unsigned sum = 0;
  for (size_t i = 0; i < bytes; ++i)
    sum = sum + p[i];
  (void)sum;
}

/// The views of `tensors`, as serializeSafeTensors takes them.
static std::map<std::string, TensorView> viewsOf(const TensorMap &tensors) {
  std::map<std::string, TensorView> views;
  for (const auto &[name, tensor] : tensors)
    views.emplace(name, tensor.view());
  return views;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  Result<TensorMap> parsed = parseSafeTensors(bytes, "fuzz");
  if (!parsed) {
    if (parsed.status().message().empty())
      mismatch("", "an error without a message");
    return 0;
  }
  for (const auto &[name, tensor] : *parsed)
    touchAll(name, tensor);

  std::string written = serializeSafeTensors(viewsOf(*parsed));
  Result<TensorMap> reread = parseSafeTensors(written, "fuzz (written)");
  if (!reread) {
    std::fprintf(stderr, "safetensors written by serializeSafeTensors do not parse: %s\n",
                 reread.status().message().c_str());
    std::abort();
  }
  if (reread->size() != parsed->size())
    mismatch("", "the number of tensors changed");
  for (auto a = parsed->begin(), b = reread->begin(); a != parsed->end(); ++a, ++b) {
    if (a->first != b->first)
      mismatch(a->first, ("renamed to '" + b->first + "'").c_str());
    const Tensor &x = a->second, &y = b->second;
    if (x.dtype() != y.dtype())
      mismatch(a->first, "dtype");
    if (x.shape() != y.shape())
      mismatch(a->first, "shape");
    touchAll(b->first, y);
    if (x.byteSize() && std::memcmp(x.data(), y.data(), x.byteSize()) != 0)
      mismatch(a->first, "data");
  }
  if (serializeSafeTensors(viewsOf(*reread)) != written) {
    std::fprintf(stderr, "serializeSafeTensors is not stable over a round trip\n");
    std::abort();
  }
  return 0;
}
