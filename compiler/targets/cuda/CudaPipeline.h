//===- CudaPipeline.h - attn module → GPU kernel ------------------*- C++ -*-===//
//
// The CUDA target's pipeline up to the gpu dialect:
//   attn --attn-simplify, attn-tile-flash-->  flash form
//        --attn-lower-flash-to-gpu-->  @X_gpu (host code with a gpu.launch)
// and its backward pass (attn-tile-flash-backward's form → @X_backward_gpu).
// From there the cuda-emu target lowers it for the emulator (EmuProgram.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H
#define ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H

#include "runtime/Status.h"

#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <vector>

namespace attnc::cuda {

/// The GPU kernel's configuration; 0 leaves a field to chooseGpuTiles.
struct GpuTileOptions {
  int64_t blockQ = 0;  ///< query rows per block (tensor cores: rowsPerWarp per warp)
  int64_t blockKV = 0; ///< key rows per staged tile
  int64_t stages = 0;  ///< K/V tiles in flight (tensor-core kernel)
  int64_t rowsPerWarp = 0; ///< query rows per warp, 16 or 32 (tensor-core kernel)
  /// Warps per block of the tensor-core kernel.
  int64_t warps() const { return blockQ / (rowsPerWarp ? rowsPerWarp : 16); }
};

/// The shared memory a kernel may declare statically; a kernel whose buffers need
/// more takes them from dynamic shared memory, which the runtime opts it into.
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// The most shared memory per block a tensor-core kernel uses: the opt-in limit
/// of the 8.6 and 8.9 GPUs that sm_80 code also runs on (A100: 163 KiB, H100:
/// 227 KiB).
constexpr int64_t kMaxSharedBytes = 99 * 1024;

/// The shared memory per block the tile heuristic plans for: two blocks fit on an
/// A100's SM (164 KiB, 1 KiB reserved per block).
constexpr int64_t kPreferredSharedBytes = 80 * 1024;

/// The largest head_dim + head_dim_v the GPU kernels take: 8 key rows of f32 K and V
/// in 48 KiB of shared memory (the SIMT kernel, which 16-bit specs too large for the
/// tensor-core kernel use).
constexpr int64_t kMaxGpuHeadDims = 48 * 1024 / (8 * 4);

struct GpuKernelTraits;
/// An error (for `attnc check --target cuda`) when a spec with `traits` cannot
/// compile for the GPU.
Status checkGpuLimits(const GpuKernelTraits &traits);

/// Key rows per staged tile of the SIMT kernel: 64, or fewer so that a K and a V
/// tile in f32 fit in 32 KiB of shared memory (head dims 64+64: 64; 128+128: 32;
/// 256+256: 16).
int64_t defaultBlockKV(int64_t headDim, int64_t headDimV);

/// Workgroup memory of the tensor-core kernel: the 16-bit Q tile (head dim padded
/// to 16) and `stages` K and V tiles (head_dim_v padded to 8).
int64_t tensorCoreSharedBytes(int64_t blockQ, int64_t blockKV, int64_t headDim,
                              int64_t headDimV, int64_t stages);

/// Workgroup memory of the tensor-core backward kernel: the 16-bit Q and dO rows, K
/// and V tiles (head dims padded to 16) and dSᵀ tile, and lse and δ in f32.
int64_t tensorCoreBackwardSharedBytes(int64_t blockQ, int64_t blockKV, int64_t headDim,
                                      int64_t headDimV);

/// What the tile heuristic looks at in a spec.
struct GpuKernelTraits {
  int64_t headDim = 64, headDimV = 64;
  bool sixteenBit = false; ///< f16 or bf16: the tensor-core kernel
  bool scoreMod = false;   ///< a score_mod (more registers per score)
  bool readsBuffers = false; ///< buffers declared (reads in score_mod/mask_mod)
};

/// The tile heuristic (docs/cuda-target.md, "Configurations"), filling the fields
/// left 0. Tensor-core kernels, within kPreferredSharedBytes (static shared memory
/// up to 48 KiB, dynamic above): warps of 32 query rows for head dims up to 64, of
/// 16 above; stages 2 (1 if 2 do not fit with 16-row key tiles); block-q 128 (4
/// warps of 32 rows, or 8 of 16 kept within 128 registers when the spec has no
/// score_mod) when that fits with its first key tile size below, else 64 (4 warps
/// of 16); block-kv 64 (32 for 32-row warps with a score_mod or buffers, whose
/// evaluation needs registers beside the scores), halved down to 16 until the
/// tiles fit. SIMT kernels (f32, or `tensorCores` off): block-q 64, block-kv
/// defaultBlockKV.
GpuTileOptions chooseGpuTiles(GpuTileOptions requested, const GpuKernelTraits &traits,
                              bool tensorCores = true);

/// The configurations to try, best first: chooseGpuTiles's, then (for the fields
/// left to the heuristic) its key tiles halved down to 16 rows, then 4, 8 and 2
/// warps (each with its key tiles halved too), then each of those with one stage. The compiler takes the first whose kernel ptxas assembles without
/// spilling on every chip (Compiler.h, spillFreeGpuTiles).
std::vector<GpuTileOptions> gpuTileCandidates(GpuTileOptions requested,
                                              const GpuKernelTraits &traits);

/// attn → @X_gpu, with `options` completed by chooseGpuTiles.
void buildGpuKernelPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                            const GpuKernelTraits &traits);

/// The backward kernel's tiles (block-q and block-kv; the rest unused), the fields
/// left 0 chosen. f16/bf16 with head dims up to 128 (the tensor-core kernel, a warp
/// per 16 key rows): block-kv 64, block-q 32 up to head dim 64 and 16 above. Else
/// (the SIMT kernel, a thread per key row): 32 query rows and 32 key rows for head
/// dims up to 128, 16 above, so that the staged rows, keys and dS tile stay within
/// 48 KiB of shared memory; tiles asked for whose shared memory would exceed
/// kPreferredSharedBytes are halved (the larger first) down to 16 rows.
GpuTileOptions chooseGpuBackwardTiles(GpuTileOptions requested, const GpuKernelTraits &traits);
/// The backward configurations to try, best first: chooseGpuBackwardTiles's, then,
/// for the tensor-core kernel with block-q left to the heuristic, the other
/// block-q of 16, 32 and 64 (up to 32 above head dim 64). The compiler takes the
/// first that ptxas assembles without spilling (spillFreeGpuBackwardTiles).
std::vector<GpuTileOptions> gpuBackwardTileCandidates(GpuTileOptions requested,
                                                      const GpuKernelTraits &traits);
/// attn → @X_backward_gpu (the backward pass: attn-differentiate-score-mod,
/// attn-tile-flash-backward, attn-lower-flash-to-gpu), with chooseGpuBackwardTiles.
void buildGpuBackwardPipeline(mlir::OpPassManager &pm, const GpuTileOptions &options,
                              const GpuKernelTraits &traits);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_CUDAPIPELINE_H
