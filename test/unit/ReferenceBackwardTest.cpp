//===- ReferenceBackwardTest.cpp - the backward oracle against differences ===//
//
// The float64 reference backward (runtime/ReferenceBackward.h, with score_mod's
// derivative from dual numbers) is what backward kernels will be checked against,
// so it is checked here against central finite differences of a separate float64
// forward: L = sum(dout * out) as a function of q, k, v and a requires_grad bias
// table, on a GQA variant with a soft-capped, biased score_mod and a mask, at
// shapes that are not tile multiples, for random elements of every input.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprDerivative.h"
#include "compiler/frontend/ExprReference.h"
#include "compiler/frontend/Frontend.h"
#include "runtime/ReferenceBackward.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace attnc;

namespace {

constexpr int64_t B = 2, H = 4, HKV = 2, Q = 7, KV = 11, D = 5, DV = 3, W = 8;

const char *kSpec = R"({"name": "bwd", "heads": {"q": 4, "kv": 2}, "head_dim": 5,
  "head_dim_v": 3, "scale": 0.7,
  "buffers": {"bias": {"dtype": "f32", "shape": ["H", 8], "requires_grad": true}},
  "score_mod": "3 * tanh(score / 3) + bias[h, (q_idx - kv_idx) % 8] * score",
  "mask_mod": "q_idx + 3 >= kv_idx"})";

struct Problem {
  Tensor q{DType::F32, {B, H, Q, D}}, k{DType::F32, {B, HKV, KV, D}},
      v{DType::F32, {B, HKV, KV, DV}}, bias{DType::F32, {H, W}}, dout{DType::F32, {B, H, Q, DV}};
};

/// L = sum(dout * out) in float64, straight from the semantics.
double loss(const frontend::Expr &scoreMod, const frontend::Expr &maskMod, const Problem &p) {
  AttentionCall call;
  call.q = p.q.view(), call.k = p.k.view(), call.v = p.v.view();
  call.buffers["bias"] = p.bias.view();
  double total = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Q; ++i) {
        std::vector<double> s(KV, -INFINITY);
        double m = -INFINITY;
        for (int64_t j = 0; j < KV; ++j) {
          frontend::EvalContext ctx = frontend::referenceContext(call, b, h, i, j);
          std::string error;
          if (!frontend::evaluate(maskMod, ctx, error)->b)
            continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            int64_t qi[4] = {b, h, i, d}, ki[4] = {b, h / 2, j, d};
            dot += call.q.get(qi) * call.k.get(ki);
          }
          ctx.score = 0.7 * dot;
          s[j] = frontend::evaluateDerivative(scoreMod, ctx, [](auto &) { return false; },
                                              error)->value;
          m = std::max(m, s[j]);
        }
        double sum = 0;
        for (double x : s)
          sum += std::exp(x - m);
        for (int64_t d = 0; d < DV; ++d) {
          double o = 0;
          for (int64_t j = 0; j < KV; ++j) {
            int64_t vi[4] = {b, h / 2, j, d};
            o += std::exp(s[j] - m) / sum * call.v.get(vi);
          }
          int64_t oi[4] = {b, h, i, d};
          total += p.dout.view().get(oi) * o;
        }
      }
  return total;
}

TEST(ReferenceBackward, MatchesFiniteDifferences) {
  mlir::MLIRContext ctx;
  mlir::DialectRegistry registry;
  frontend::registerFrontendDialects(registry);
  ctx.appendDialectRegistry(registry);
  frontend::Spec spec;
  ASSERT_TRUE(frontend::importSpec("bwd.json", kSpec, &ctx, &spec));
  const frontend::Expr &scoreMod = *spec.scoreMod.expr, &maskMod = *spec.maskMod.expr;

  std::mt19937_64 rng(std::random_device{}());
  std::normal_distribution<float> normal;
  Problem p;
  for (Tensor *t : {&p.q, &p.k, &p.v, &p.bias, &p.dout}) {
    std::vector<int64_t> index(t->view().shape.size(), 0);
    do
      t->view().set(index.data(), normal(rng));
    while (nextIndex(index, t->view().shape));
  }

  VariantDesc variant;
  variant.name = "bwd", variant.headsQ = H, variant.headsKV = HKV, variant.headDim = D;
  variant.headDimV = DV, variant.dtype = DType::F32, variant.scale = 0.7;
  BackwardCall call;
  call.forward.q = p.q.view(), call.forward.k = p.k.view(), call.forward.v = p.v.view();
  call.forward.buffers["bias"] = p.bias.view();
  call.dout = p.dout.view();
  Tensor dq(DType::F32, {B, H, Q, D}), dk(DType::F32, {B, HKV, KV, D}),
      dv(DType::F32, {B, HKV, KV, DV}), dbias(DType::F32, {H, W});
  call.dq = dq.view(), call.dk = dk.view(), call.dv = dv.view();
  call.dbuffers["bias"] = dbias.view();
  for (Tensor *t : {&dq, &dk, &dv, &dbias})
    t->poison(); // every element must be written
  ASSERT_TRUE(referenceBackward(variant, call,
                                frontend::referenceBackwardMods(&scoreMod, &maskMod,
                                                                call.forward,
                                                                {"bias"})));

  // Central differences on random elements of each input, perturbed in float32
  // storage (the perturbation is what float32 can represent).
  int checked = 0;
  for (auto [name, input, grad] : {std::tuple{"q", &p.q, &dq}, std::tuple{"k", &p.k, &dk},
                                   std::tuple{"v", &p.v, &dv}, std::tuple{"bias", &p.bias, &dbias}}) {
    const TensorView &view = input->view();
    for (int trial = 0; trial < 12; ++trial) {
      std::vector<int64_t> index;
      for (int64_t n : view.shape)
        index.push_back(int64_t(rng() % uint64_t(n)));
      double x = view.get(index.data());
      double hUp = float(x + 1e-2) - x, hDown = x - float(x - 1e-2);
      view.set(index.data(), x + hUp);
      double up = loss(scoreMod, maskMod, p);
      view.set(index.data(), x - hDown);
      double down = loss(scoreMod, maskMod, p);
      view.set(index.data(), x);
      double fd = (up - down) / (hUp + hDown);
      double got = grad->view().get(index.data());
      EXPECT_NEAR(got, fd, 2e-3 * std::max(1.0, std::fabs(fd)))
          << name << " element " << index[0] << "," << index[1];
      ++checked;
    }
  }
  EXPECT_EQ(checked, 48);
}

} // namespace
