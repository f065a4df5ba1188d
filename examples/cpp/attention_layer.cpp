//===- attention_layer.cpp - using attnc variants from C++ -----------------===//
//
// The AttentionInterface workflow of Hugging Face transformers, in C++:
//   1. compile three attention variants from their specs and register each under
//      its name in attnc::ALL_ATTENTION_FUNCTIONS (next to the built-ins "eager"
//      and "sdpa");
//   2. run a small attention layer that looks its implementation up by name;
//   3. switch the layer's implementation at run time and compare the results.
//
// Usage: attention-layer-example [SPEC_DIR]   (default: examples/specs)
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "runtime/AttentionInterface.h"
#include "runtime/Tensor.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

using namespace attnc;

namespace {

/// A toy attention layer: the implementation is a registry key, as in
/// `model.set_attn_implementation("...")`.
class AttentionLayer {
public:
  explicit AttentionLayer(std::string implementation)
      : implementation(std::move(implementation)) {}
  void setAttnImplementation(const std::string &name) { implementation = name; }
  const std::string &attnImplementation() const { return implementation; }

  Status forward(const AttentionCall &call) const {
    return ALL_ATTENTION_FUNCTIONS[implementation](call);
  }

private:
  std::string implementation;
};

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.as<float>()[i] = dist(rng);
  return t;
}

double checksum(const Tensor &t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    s += double(t.as<float>()[i]) * double((i % 7) + 1);
  return s;
}

double maxAbsDiff(const Tensor &a, const Tensor &b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, double(std::fabs(a.as<float>()[i] - b.as<float>()[i])));
  return m;
}

} // namespace

int main(int argc, char **argv) {
  std::string specDir = argc > 1 ? argv[1] : "examples/specs";

  // 1. Compile and register. Every variant here has 8 heads of dimension 64 in f32.
  Compiler compiler;
  for (const char *name : {"causal", "alibi", "sliding_window"}) {
    std::shared_ptr<CompiledVariant> variant =
        compiler.compileFile(specDir + "/" + name + ".json");
    if (!variant)
      return 1;
    variant->registerIn(ALL_ATTENTION_FUNCTIONS); // as desc.name, for CPU tensors
  }
  registerSdpa();
  std::printf("registered attention functions:");
  for (const std::string &key : ALL_ATTENTION_FUNCTIONS.keys())
    std::printf(" %s", key.c_str());
  std::printf("\n\n");

  // 2. One batch of projected queries, keys and values: B=2, H=8, S=300, D=64.
  const int64_t B = 2, H = 8, S = 300, D = 64;
  std::mt19937 rng(42);
  Tensor q = randomTensor({B, H, S, D}, rng), k = randomTensor({B, H, S, D}, rng),
         v = randomTensor({B, H, S, D}, rng);
  // ALiBi's per-head slopes: 2^(-8 (h + 1) / H).
  Tensor slopes(DType::F32, {H});
  for (int64_t h = 0; h < H; ++h)
    slopes.as<float>()[h] = std::pow(2.0f, -8.0f * float(h + 1) / float(H));

  AttentionLayer layer("eager");
  std::map<std::string, Tensor> outputs;
  std::printf("%-16s %12s %10s\n", "implementation", "checksum", "ms");
  // 3. Switch the implementation at run time, one call each.
  for (const char *impl : {"eager", "sdpa", "causal", "alibi", "sliding_window"}) {
    layer.setAttnImplementation(impl);
    Tensor out(DType::F32, {B, H, S, D}), lse(DType::F32, {B, H, S});
    out.poison();
    AttentionCall call;
    call.q = q.view();
    call.k = k.view();
    call.v = v.view();
    call.out = out.view();
    call.lse = lse.view();
    if (layer.attnImplementation() == "alibi")
      call.buffers["slopes"] = slopes.view();
    auto start = std::chrono::steady_clock::now();
    Status status = layer.forward(call);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (!status) {
      std::fprintf(stderr, "error: %s: %s\n", impl, status.message().c_str());
      return 1;
    }
    std::printf("%-16s %12.4f %10.2f\n", impl, checksum(out), ms);
    outputs.emplace(impl, std::move(out));
  }

  // The compiled plain kernel must agree with the float64 reference.
  double diff = maxAbsDiff(outputs.at("sdpa"), outputs.at("eager"));
  std::printf("\nmax |sdpa - eager| = %.2e\n", diff);
  // Asking for an unknown implementation is an error that lists the known ones.
  layer.setAttnImplementation("flash_attention_9");
  AttentionCall empty;
  Status unknown = layer.forward(empty);
  std::printf("unknown implementation: %s\n", unknown.message().c_str());
  return diff < 1e-5 && !unknown ? 0 : 1;
}
