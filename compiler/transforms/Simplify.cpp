//===- Simplify.cpp - fold and simplify modifier regions -------------------===//
//
// Applies the canonicalization patterns of the loaded dialects to the bodies of
// every attn.variant, then CSE, so later passes (mask analysis, code generation) see
// the simplest form of score_mod and mask_mod.
//
//===----------------------------------------------------------------------===//
#include "compiler/transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNSIMPLIFY
#include "compiler/transforms/Passes.h.inc"

namespace {
struct AttnSimplifyPass : impl::AttnSimplifyBase<AttnSimplifyPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, ctx);
    FrozenRewritePatternSet frozen(std::move(patterns));
    IRRewriter rewriter(ctx);
    DominanceInfo dominance;
    WalkResult result = getOperation().walk([&](attn::VariantOp variant) {
      for (Region *region : {&variant.getScoreMod(), &variant.getMaskMod(),
                             &variant.getScoreModVjp()}) {
        if (region->empty())
          continue;
        if (failed(applyPatternsGreedily(*region, frozen)))
          return WalkResult::interrupt();
        eliminateCommonSubExpressions(rewriter, dominance, region->getParentOp());
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
} // namespace attnc
