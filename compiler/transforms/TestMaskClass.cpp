//===- TestMaskClass.cpp - the mask analysis on its own, for lit ------------===//
//
// attn-test-mask-class (Passes.td): each attn.tile_mask_class becomes the code of
// emitMaskClass, so that lit tests can fold it with constant tile bounds and check
// the analysis operator by operator.
//
//===----------------------------------------------------------------------===//
#include "compiler/transforms/MaskIntervals.h"
#include "compiler/transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace attnc {
#define GEN_PASS_DEF_ATTNTESTMASKCLASS
#include "compiler/transforms/Passes.h.inc"

namespace {

struct AttnTestMaskClassPass : impl::AttnTestMaskClassBase<AttnTestMaskClassPass> {
  void runOnOperation() override {
    SymbolTable symbols(getOperation());
    SmallVector<attn::TileMaskClassOp> ops;
    getOperation().walk([&](attn::TileMaskClassOp op) { ops.push_back(op); });
    for (attn::TileMaskClassOp op : ops) {
      auto variant = symbols.lookup<attn::VariantOp>(op.getVariant());
      if (!variant) {
        op.emitError("attn-test-mask-class: unknown variant ") << op.getVariantAttr();
        return signalPassFailure();
      }
      OpBuilder b(op);
      Value cls = emitMaskClass(b, op.getLoc(), variant, op.getB(), op.getH(), op.getQ0(),
                                op.getQ1(), op.getK0(), op.getK1(), op.getQLen(),
                                op.getKvLen(), op.getScalars());
      op.getResult().replaceAllUsesWith(cls);
      op.erase();
    }
  }
};

} // namespace
} // namespace attnc
