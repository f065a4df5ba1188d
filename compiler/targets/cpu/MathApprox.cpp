//===- MathApprox.cpp - vectorisable math for the CPU target ---------------===//
//
// LLVM turns math intrinsics on vectors into per-lane libm calls; MLIR's polynomial
// approximations keep exp/log/tanh/... in SIMD registers.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cpu/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace attnc::cpu {
#define GEN_PASS_DEF_ATTNCPUMATHAPPROX
#include "compiler/targets/cpu/Passes.h.inc"

namespace {
struct AttnCpuMathApproxPass : impl::AttnCpuMathApproxBase<AttnCpuMathApproxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false; // keep results identical on every x86 host
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace attnc::cpu
