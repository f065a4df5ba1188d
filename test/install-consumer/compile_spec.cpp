// Compiles a spec through the installed compiler (attnc::compiler), registers the
// kernel, runs it through ALL_ATTENTION_FUNCTIONS on random inputs with poisoned
// outputs, and checks it against the variant's float64 reference.
#include "compiler/Compiler.h"
#include "runtime/AttentionInterface.h"
#include "runtime/Tensor.h"

#include <cmath>
#include <cstdio>
#include <random>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  attnc::Compiler compiler;
  std::shared_ptr<attnc::CompiledVariant> variant = compiler.compileFile(argv[1]);
  if (!variant)
    return 1;
  variant->registerIn(attnc::ALL_ATTENTION_FUNCTIONS);
  const attnc::VariantDesc &d = variant->desc;
  const int64_t b = 2, qLen = 37, kvLen = 75;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  auto random = [&](std::vector<int64_t> shape) {
    attnc::Tensor t(attnc::DType::F32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.as<float>()[i] = dist(rng);
    return t;
  };
  attnc::Tensor q = random({b, d.headsQ, qLen, d.headDim}),
                k = random({b, d.headsKV, kvLen, d.headDim}),
                v = random({b, d.headsKV, kvLen, d.headDimV});
  attnc::Tensor out(attnc::DType::F32, {b, d.headsQ, qLen, d.headDimV}),
      refOut(attnc::DType::F32, {b, d.headsQ, qLen, d.headDimV}),
      lse(attnc::DType::F32, {b, d.headsQ, qLen}), refLse(attnc::DType::F32, {b, d.headsQ, qLen});
  auto call = [&](attnc::Tensor &o, attnc::Tensor &l) {
    o.poison();
    l.poison();
    attnc::AttentionCall c;
    c.q = q.view();
    c.k = k.view();
    c.v = v.view();
    c.out = o.view();
    c.lse = l.view();
    return c;
  };
  attnc::Status s = attnc::ALL_ATTENTION_FUNCTIONS[d.name](call(out, lse));
  if (!s) {
    std::printf("error: %s\n", s.message().c_str());
    return 1;
  }
  if (attnc::Status r = variant->reference(call(refOut, refLse)); !r) {
    std::printf("error: %s\n", r.message().c_str());
    return 1;
  }
  double worst = 0;
  for (int64_t i = 0; i < out.numel(); ++i)
    worst = std::max(worst, double(std::fabs(out.as<float>()[i] - refOut.as<float>()[i])));
  for (int64_t i = 0; i < lse.numel(); ++i)
    worst = std::max(worst, double(std::fabs(lse.as<float>()[i] - refLse.as<float>()[i])));
  bool ok = worst < 1e-4; // NaN fails too
  std::printf("compiled %s: largest difference from the float64 reference %.2e %s\n",
              d.name.c_str(), worst, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
