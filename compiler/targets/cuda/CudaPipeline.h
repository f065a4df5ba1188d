//===- CudaPipeline.h - attn module → GPU kernel ------------------*- C++ -*-===//
//
// The CUDA target's pipeline up to the gpu dialect:
//   attn --attn-simplify, attn-tile-flash-->  flash form
//        --attn-lower-flash-to-gpu-->  @X_gpu (host code with a gpu.launch)
// From there the cuda-emu target lowers it for the emulator (EmuProgram.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H
#define ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <cstdint>

namespace attnc::cuda {

struct GpuTileOptions {
  int64_t blockQ = 64;  ///< query rows per block = threads per block
  int64_t blockKV = 0;  ///< key rows staged per tile; 0: defaultBlockKV
};

/// Key rows per staged tile: 64, or fewer so that a K and a V tile in f32 fit in
/// 32 KiB of shared memory (head dims 64+64: 64; 128+128: 32; 256+256: 16).
int64_t defaultBlockKV(int64_t headDim, int64_t headDimV);

/// attn → @X_gpu.
void buildGpuKernelPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                            int64_t headDim, int64_t headDimV);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H
