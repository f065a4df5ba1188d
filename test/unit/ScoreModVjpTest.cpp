//===- ScoreModVjpTest.cpp - the compiler's derivative against dual numbers ===//
//
// attn-differentiate-score-mod derives score_mod_vjp in the compiler; the float64
// reference (ExprDerivative.h) derives the same expression independently, with
// dual numbers over the expression tree. For score_mods covering every float
// operator and function of the language, guarded and unguarded reads of a
// requires_grad buffer included, this test evaluates the VJP region at random points
// by substituting constants for its arguments, scalars and buffer reads and
// letting MLIR's folders reduce it (no kernel involved), then compares the yielded
// score gradient and every attn.buffer_grad with the reference. The reference
// itself is checked against central finite differences of its own float64 values.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprDerivative.h"
#include "compiler/frontend/Frontend.h"
#include "compiler/transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

using namespace mlir;
using namespace attnc;

namespace {

constexpr int64_t kHeads = 4, kBiasWidth = 16;

/// A spec with a requires_grad bias table, a plain weight per head and a scalar.
std::string specText(const std::string &scoreMod) {
  return R"({"name": "grad", "heads": {"q": 4}, "head_dim": 8, "scalars": {"s": "f32"},
  "buffers": {"bias": {"dtype": "f32", "shape": ["H", 16], "requires_grad": true},
              "w": {"dtype": "f32", "shape": ["H"]}},
  "score_mod": ")" + scoreMod + R"("})";
}

/// One evaluation point: the VJP's arguments and the buffers' contents.
struct Point {
  double score, dout, s;
  int64_t b, h, qIdx, kvIdx, qLen = 64, kvLen = 64;
  std::vector<double> bias, w;
};

/// What the VJP region gives at a point: d loss / d score and the bias gradient.
struct Gradients {
  double dScore = 0;
  std::map<std::vector<int64_t>, double> dBias;
  std::string error;
};

/// Evaluates the VJP region of `variant` at `p` by folding: arguments, scalars and
/// (once their indices fold) buffer reads become constants; canonicalization does
/// the rest.
Gradients foldVjp(attn::VariantOp variant, const Point &p) {
  Gradients g;
  OpBuilder b(variant.getContext());
  Operation *copy = b.clone(*variant);
  auto clone = cast<attn::VariantOp>(copy);
  Region &vjp = clone.getScoreModVjp();
  Block &block = vjp.front();
  b.setInsertionPointToStart(&block);
  Location loc = clone.getLoc();
  double fArgs[] = {p.score, p.dout};
  int64_t iArgs[] = {p.b, p.h, p.qIdx, p.kvIdx, p.qLen, p.kvLen};
  for (unsigned i = 0; i < block.getNumArguments(); ++i) {
    Value arg = block.getArgument(i);
    Value c = arg.getType().isF32()
                  ? Value(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(fArgs[i ? 1 : 0]))))
                  : Value(arith::ConstantIntOp::create(b, loc, iArgs[i - 1], 64));
    arg.replaceAllUsesWith(c);
  }
  // math.rsqrt has no folder: as 1 / sqrt(x), which folds.
  SmallVector<math::RsqrtOp> rsqrts;
  vjp.walk([&](math::RsqrtOp op) { rsqrts.push_back(op); });
  for (math::RsqrtOp op : rsqrts) {
    b.setInsertionPoint(op);
    Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
    op.replaceAllUsesWith(arith::DivFOp::create(
        b, loc, one, math::SqrtOp::create(b, loc, op.getOperand()).getResult()).getResult());
    op.erase();
  }
  RewritePatternSet patterns(variant.getContext());
  for (Dialect *dialect : variant.getContext()->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : variant.getContext()->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, variant.getContext());
  FrozenRewritePatternSet frozen(std::move(patterns));
  auto constantOf = [](Value v) -> std::optional<int64_t> {
    if (auto c = v.getDefiningOp<arith::ConstantIntOp>())
      return c.value();
    return std::nullopt;
  };
  // Fold first, so that the branches a guard does not take are gone before their
  // reads are given values (a guarded read may be out of range).
  for (int round = 0; round < 8; ++round) {
    (void)applyPatternsGreedily(vjp, frozen);
    SmallVector<Operation *> reads;
    vjp.walk([&](Operation *op) {
      if (isa<attn::ScalarOp, attn::BufferLoadOp>(op))
        reads.push_back(op);
    });
    for (Operation *op : reads) {
      b.setInsertionPoint(op);
      double value;
      if (isa<attn::ScalarOp>(op)) {
        value = p.s;
      } else {
        auto load = cast<attn::BufferLoadOp>(op);
        std::vector<int64_t> index;
        for (Value i : load.getIndices())
          if (auto c = constantOf(i))
            index.push_back(*c);
        if (index.size() != load.getIndices().size())
          continue; // its indices have not folded yet
        bool isBias = load.getBuffer() == "bias";
        int64_t width = isBias ? kBiasWidth : 1;
        if (index[0] < 0 || index[0] >= kHeads ||
            (isBias && (index[1] < 0 || index[1] >= width)))
          continue; // only in a branch not taken: folding removes it
        value = isBias ? p.bias[index[0] * kBiasWidth + index[1]] : p.w[index[0]];
      }
      op->getResult(0).replaceAllUsesWith(
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(value))));
      op->erase();
    }
  }
  (void)applyPatternsGreedily(vjp, frozen);
  auto yield = cast<attn::YieldOp>(vjp.front().getTerminator());
  auto folded = yield.getValue().getDefiningOp<arith::ConstantFloatOp>();
  if (!folded) {
    g.error = "the score gradient did not fold to a constant:";
    vjp.walk([&](Operation *op) {
      if (!isa<arith::ConstantOp>(op))
        g.error += " " + op->getName().getStringRef().str();
    });
  } else {
    g.dScore = folded.value().convertToDouble();
  }
  vjp.walk([&](attn::BufferGradOp grad) {
    std::vector<int64_t> index;
    for (Value i : grad.getIndices())
      if (auto c = constantOf(i))
        index.push_back(*c);
    auto value = grad.getValue().getDefiningOp<arith::ConstantFloatOp>();
    if (index.size() != 2 || !value) {
      g.error = "a buffer gradient did not fold to constants";
      return;
    }
    g.dBias[index] += value.value().convertToDouble();
  });
  copy->erase();
  return g;
}

/// The reference: dual numbers over the expression, times dout.
std::optional<frontend::DualValue> referenceAt(const frontend::Expr &expr, const Point &p,
                                               double score, std::string &error) {
  frontend::EvalContext ctx;
  ctx.score = score;
  ctx.b = p.b, ctx.h = p.h, ctx.qIdx = p.qIdx, ctx.kvIdx = p.kvIdx;
  ctx.qLen = p.qLen, ctx.kvLen = p.kvLen;
  ctx.scalar = [&](const std::string &) { return frontend::ExprValue::ofFloat(p.s); };
  ctx.buffer = [&](const std::string &name,
                   const std::vector<int64_t> &i) -> std::optional<frontend::ExprValue> {
    if (name == "bias") {
      if (i[0] < 0 || i[0] >= kHeads || i[1] < 0 || i[1] >= kBiasWidth)
        return std::nullopt;
      return frontend::ExprValue::ofFloat(p.bias[i[0] * kBiasWidth + i[1]]);
    }
    return frontend::ExprValue::ofFloat(p.w[i[0]]);
  };
  return frontend::evaluateDerivative(
      expr, ctx, [](const std::string &name) { return name == "bias"; }, error);
}

bool close(double got, double want, double scale) {
  return std::fabs(got - want) <= 1e-4 * std::max(std::fabs(want), scale) + 1e-6;
}

// Every float operator and function; guarded, unguarded, repeated and absent
// reads of the requires_grad buffer; a score_mod that ignores the score.
const char *kScoreMods[] = {
    "score * 2.5 + s",
    "score / (1.5 + abs(score)) - s / score",
    "-score - (score - 1.25)",
    "exp(score * 0.3) + exp2(score * 0.5)",
    "log(abs(score) + 1) + log2(score * score + 2)",
    "sqrt(score * score + 1) + rsqrt(score * score + 0.5)",
    "20 * tanh(score / 20) + tanh(score)",
    "sigmoid(score) * score",
    "abs(score) + floor(score) * ceil(score)",
    "min(score, 0.5) + max(score, -0.5) + max(score * 2, score)",
    "clamp(score, -1, 1) * 3",
    "score % 1.5 + score // 0.7 + 2.5 % (score + 4)",
    "q_idx >= kv_idx ? score : score * 0.5",
    "score + bias[h, kv_idx % 16]",
    "score * w[h] + bias[h, (q_idx - kv_idx) % 16] * score",
    "kv_idx < 8 && bias[h, kv_idx] > 0 ? score + bias[h, kv_idx] : score - 1",
    "score - bias[h, 0] * bias[h, 1] + bias[h, 0]",
    "float(q_idx - kv_idx) * bias[h, 3]",
    "score * score * score / 8",
    "tanh(score + bias[h, q_idx % 16]) * w[h]",
};

TEST(ScoreModVjp, MatchesDualNumbersAtRandomPoints) {
  MLIRContext ctx;
  DialectRegistry registry;
  frontend::registerFrontendDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
  std::mt19937_64 rng(20261206);
  std::uniform_real_distribution<double> real(-3, 3);
  int checked = 0, withBias = 0;
  for (const char *scoreMod : kScoreMods) {
    SCOPED_TRACE(scoreMod);
    frontend::Spec spec;
    OwningOpRef<ModuleOp> module =
        frontend::importSpec("grad.json", specText(scoreMod), &ctx, &spec);
    ASSERT_TRUE(module);
    PassManager pm(&ctx);
    pm.addPass(createAttnSimplify());
    pm.addPass(createAttnDifferentiateScoreMod());
    pm.addPass(createAttnSimplify());
    ASSERT_TRUE(succeeded(pm.run(*module)));
    attn::VariantOp variant;
    module->walk([&](attn::VariantOp v) { variant = v; });
    ASSERT_TRUE(variant && !variant.getScoreModVjp().empty());
    for (int trial = 0; trial < 40; ++trial) {
      Point p{real(rng), real(rng), real(rng), 0, int64_t(rng() % kHeads),
              int64_t(rng() % 30), int64_t(rng() % 30)};
      for (int i = 0; i < kHeads * kBiasWidth; ++i)
        p.bias.push_back(real(rng));
      for (int i = 0; i < kHeads; ++i)
        p.w.push_back(real(rng));
      std::string error;
      auto want = referenceAt(*spec.scoreMod.expr, p, p.score, error);
      ASSERT_TRUE(want) << error;
      Gradients got = foldVjp(variant, p);
      ASSERT_EQ(got.error, "") << "at score " << p.score;
      double scale = std::fabs(p.dout);
      EXPECT_TRUE(close(got.dScore, p.dout * want->dScore, scale))
          << "score " << p.score << ": compiler " << got.dScore << ", reference "
          << p.dout * want->dScore;
      std::map<std::vector<int64_t>, double> wantBias;
      for (const auto &[element, d] : want->dBuffers)
        wantBias[element.second] += p.dout * d;
      for (const auto &[index, d] : got.dBias)
        if (!wantBias.count(index))
          wantBias[index] = 0; // a not-taken guarded read adds 0
      for (const auto &[index, d] : wantBias)
        EXPECT_TRUE(close(got.dBias[index], d, scale))
            << "bias[" << index[0] << ", " << index[1] << "]: compiler " << got.dBias[index]
            << ", reference " << d;
      withBias += !want->dBuffers.empty();
      // The reference against central differences of its own float64 values.
      const double h = 1e-6;
      auto up = referenceAt(*spec.scoreMod.expr, p, p.score + h, error);
      auto down = referenceAt(*spec.scoreMod.expr, p, p.score - h, error);
      ASSERT_TRUE(up && down);
      double fd = (up->value - down->value) / (2 * h);
      EXPECT_TRUE(std::fabs(fd - want->dScore) <= 1e-4 * std::max(1.0, std::fabs(fd)))
          << "reference d/dscore " << want->dScore << ", finite difference " << fd;
      ++checked;
    }
  }
  EXPECT_EQ(checked, int(std::size(kScoreMods)) * 40);
  EXPECT_GT(withBias, 100);
}

} // namespace
