//===- GpuEmuRewrite.cpp - expand GPU ops the emulator runs as simpler ones ===//
//
// gpu.all_reduce and gpu.subgroup_reduce have no emulator call of their own: like
// the NVVM lowering, they are expanded by upstream patterns into the shuffles,
// workgroup memory and barriers that cuda-emu does run (and check).
//
// Upstream expands only `uniform` all-reduces (every thread of the block or none
// reaches them). A non-uniform one is expanded the same way: when every thread
// reaches it the result is the same, and when only some do, the shuffles and
// barriers of the expansion miss threads, which cuda-emu reports (an incomplete warp
// collective or a divergent barrier) at the reduction's location instead of
// refusing the program.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace attnc::emu {
#define GEN_PASS_DEF_ATTNGPUEMUREWRITE
#include "compiler/targets/emu/Passes.h.inc"

namespace {

constexpr unsigned kWarpSize = 32;
constexpr unsigned kShuffleBits = 32;

struct AttnGpuEmuRewritePass : impl::AttnGpuEmuRewriteBase<AttnGpuEmuRewritePass> {
  void runOnOperation() override {
    getOperation()->walk([](gpu::AllReduceOp op) {
      if (!op.getUniform())
        op.setUniform(true);
    });
    RewritePatternSet patterns(&getContext());
    populateGpuRewritePatterns(patterns);
    populateGpuSubgroupIdPatterns(patterns);
    populateGpuBreakDownSubgroupReducePatterns(patterns, kShuffleBits);
    populateGpuLowerSubgroupReduceToShufflePatterns(patterns, kWarpSize, kShuffleBits);
    populateGpuLowerClusteredSubgroupReduceToShufflePatterns(patterns, kWarpSize,
                                                            kShuffleBits);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace attnc::emu
