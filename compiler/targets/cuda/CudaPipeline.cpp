//===- CudaPipeline.cpp - attn module → GPU kernel -------------------------===//
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/Passes.h"
#include "compiler/transforms/Passes.h"

namespace attnc::cuda {

int64_t defaultBlockKV(int64_t headDim, int64_t headDimV) {
  int64_t blockKV = 64;
  while (blockKV > 8 && blockKV * (headDim + headDimV) * 4 > 32 * 1024)
    blockKV /= 2;
  return blockKV;
}

void buildGpuKernelPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                            int64_t headDim, int64_t headDimV) {
  pm.addPass(createAttnSimplify());
  AttnTileFlashOptions tile;
  tile.blockQ = options.blockQ;
  tile.blockKV = options.blockKV ? options.blockKV : defaultBlockKV(headDim, headDimV);
  pm.addPass(createAttnTileFlash(tile));
  pm.addPass(createAttnLowerFlashToGpu());
}

} // namespace attnc::cuda
