//===- GpuFlashLowering.h - the flash form as a gpu.launch --------*- C++ -*-===//
//
// Private to the CUDA target. GpuFlashLowering is the part both GPU kernels share:
// `@X_flash` becomes `@X_gpu` with the same arguments, the parallel loop over
// (batch, head, query tile) becomes a gpu.launch with a block per (query tile,
// head, batch), and attn.tile_mods has one per-element meaning (bounds, mask_mod,
// score_mod). The kernels realise the other tile ops: SimtKernel (a thread per
// query row, SimtKernel.cpp) and TensorCoreKernel (mma fragments per warp,
// TensorCoreKernel.h); the backward form's `@X_flash_backward` becomes
// `@X_backward_gpu`, a block per (split, key/value head, batch), realised by
// TensorCoreBackwardKernel (a warp per 16 key rows, f16/bf16) or SimtBackwardKernel
// (a thread per key row).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_GPUFLASHLOWERING_H
#define ATTNC_COMPILER_TARGETS_CUDA_GPUFLASHLOWERING_H

#include "compiler/codegen/FlashFormLowering.h"
#include "compiler/targets/cuda/CudaPipeline.h"
#include "compiler/targets/cuda/Passes.h"
#include "compiler/targets/cuda/ScalarRegionEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace attnc::cuda::detail {

// A private header of the CUDA target: its builders are written in MLIR's terms.
using namespace mlir;

/// Bytes of a static-shaped workgroup buffer, rounded up to 128 (the alignment of
/// each buffer in dynamic shared memory).
inline int64_t sharedBufferBytes(MemRefType type) {
  return (type.getNumElements() * type.getElementTypeBitWidth() / 8 + 127) / 128 * 128;
}
inline int64_t sharedBufferBytes(ArrayRef<MemRefType> types) {
  int64_t bytes = 0;
  for (MemRefType type : types)
    bytes += sharedBufferBytes(type);
  return bytes;
}

class GpuFlashLowering : public codegen::FlashFormLowering {
public:
  GpuFlashLowering(func::FuncOp flash, attn::VariantOp variant, const FlashFormDetail &form)
      : FlashFormLowering(flash, variant, form, "attn-lower-flash-to-gpu"),
        BQ(form.blockQ()), BK(form.blockKV()), D(form.headDim()), DV(form.headDimV()),
        H(form.headsQ()), HKV(form.headsKV()) {}

  /// Builds `@X_gpu` from the flash function, then erases the flash function.
  LogicalResult build();

protected:
  /// Threads per block.
  virtual int64_t threadsPerBlock() const = 0;
  /// The workgroup buffers of the launch (staged tiles): static-shaped memrefs.
  virtual SmallVector<MemRefType> workgroupBuffers() = 0;
  /// Called at the start of the kernel body with the workgroup buffers, in the
  /// order of workgroupBuffers (`tid` is set).
  virtual void enterKernel(ValueRange buffers) = 0;

  LogicalResult emitQueryTiles(scf::ParallelOp op) override;

  /// A workgroup-memory memref type.
  MemRefType workgroupType(ArrayRef<int64_t> shape, Type element);
  /// The workgroup buffers `types` as views of the block's dynamic shared memory,
  /// each at a 128-byte aligned offset (placeBuffers).
  SmallVector<Value> viewDynamicShared(ArrayRef<MemRefType> types);
  /// attn.tile_mods for one element of the score tile: -inf outside the sequences
  /// (`inRange` false) and where the mask (if the op applies it) rejects the pair,
  /// else score_mod of `score`. mask_mod runs before score_mod, so a buffer read
  /// that the mask rules out never happens. `q` and `kv` are index values.
  Value modifiedScore(attn::TileModsOp op, ScalarRegionEmitter &regions, Value score,
                      Value q, Value kv, Value inRange);
  /// The index operands of a pair's modifier regions: batch, head and the lengths.
  struct PairIndices {
    Value b, h, qLen, kvLen;
  };
  /// Whether pair (q, kv) counts: `inRange` and, with `applyMask`, kept by mask_mod
  /// (evaluated only where `inRange` holds).
  Value keptPair(ScalarRegionEmitter &regions, const PairIndices &at, bool applyMask, Value q,
                 Value kv, Value inRange);
  /// score_mod of `score` at (q, kv), evaluated where `keep` holds.
  Value scoreModAt(ScalarRegionEmitter &regions, const PairIndices &at, Value score, Value q,
                   Value kv, Value keep);
  /// Whether score_mod returns its score unchanged.
  bool scoreModIsIdentity() {
    return variant.getScoreModResult() == variant.getScoreMod().front().getArgument(0);
  }
  /// The emitter of the variant's regions for a tile op's scalars and buffers
  /// (tile_mods, tile_probs).
  template <typename OpT> ScalarRegionEmitter regionEmitter(OpT op) {
    return regionEmitter(op.getStatus(), op.getScalars(), op.getBuffers());
  }
  /// The emitter of the variant's regions for a tile op's status, scalars and
  /// buffers (flash-form values).
  ScalarRegionEmitter regionEmitter(Value status, ValueRange scalars, ValueRange buffers);
  /// The emitter of score_mod_vjp for a tile_dscores op: with the gradients of the
  /// requires_grad buffers, which its buffer_grad ops add to.
  ScalarRegionEmitter regionEmitter(attn::TileDScoresOp op) {
    ScalarRegionEmitter regions = regionEmitter(op.getStatus(), op.getScalars(), op.getBuffers());
    if (DictionaryAttr decls = variant.getBuffersAttr()) {
      unsigned next = 0;
      for (auto entry : decls.getValue())
        if (cast<attn::BufferDeclAttr>(entry.getValue()).getRequiresGrad())
          regions.grads[entry.getName().getValue()] = lookup(op.getGrads()[next++]);
    }
    return regions;
  }
  /// The pair indices of a tile_probs or tile_dscores op.
  template <typename OpT> PairIndices pairIndices(OpT op) {
    return {lookup(op.getB()), lookup(op.getH()), lookup(op.getQLen()), lookup(op.getKvLen())};
  }
  /// The op of type OpT in the key loop (whose operands the kernel reads before
  /// the loop), or null after an error.
  template <typename OpT> OpT keyLoopOp() {
    OpT found;
    form.keyLoop().walk([&](OpT op) { found = op; });
    if (!found)
      error(form.keyLoop(), "no ") << OpT::getOperationName()
                                   << " in the loop over key tiles";
    return found;
  }
  /// memref.dim(tensor, 2): a sequence length.
  Value seqLen(Value tensor) { return memref::DimOp::create(b, loc, tensor, int64_t(2)); }
  /// The block's `threads` threads copy `rows` rows from `row0` of `tensor` ([B,
  /// heads, L, cols], batch `batch`, head `head`) into `tile` (f32 workgroup memory,
  /// `cols` columns), element e by thread e % threads; rows past L are 0. No barrier.
  void stageRows(Value tensor, Value tile, int64_t rows, int64_t cols, Value batch, Value head,
                 Value row0, int64_t threads);

  int64_t BQ, BK, D, DV, H, HKV;
  Value tid; ///< the thread's index in its block
};

/// f32 math.tanh under `root` as one exp2 and one approximate reciprocal
/// (GpuTanh.cpp): 7 instructions instead of libdevice's 19.
void expandTanh(Operation *root);

/// The SIMT kernel (SimtKernel.cpp).
std::unique_ptr<GpuFlashLowering> makeSimtKernel(func::FuncOp flash, attn::VariantOp variant,
                                                 const FlashFormDetail &form);
/// The SIMT kernel of the backward flash form (SimtBackwardKernel.cpp).
std::unique_ptr<GpuFlashLowering> makeSimtBackwardKernel(func::FuncOp flash,
                                                         attn::VariantOp variant,
                                                         const FlashFormDetail &form);
/// Whether the tensor-core backward kernel takes `form`: f16 or bf16, block-q a
/// multiple of 16 up to 128, block-kv a multiple of 16 up to 256 (a warp per 16
/// key rows), head dims up to 128 (dK and dV stay in registers), and its staged
/// tiles within kMaxSharedBytes (tensorCoreBackwardSharedBytes).
bool tensorCoreBackwardFits(const FlashFormDetail &form);
/// How many times the tensor-core backward kernel walks each key tile: once (dK,
/// dV and dQ together) up to head dim 64; twice above, dV first, then dK and dQ
/// (the scores recomputed), so that one accumulator of 16 rows x 128 columns (64
/// registers a thread) is live at a time instead of two: with both, every
/// example spilled.
int64_t tensorCoreBackwardSweeps(int64_t headDim, int64_t headDimV);
/// The tensor-core kernel of the backward flash form (TensorCoreBackwardKernel.cpp);
/// `form` must fit.
std::unique_ptr<GpuFlashLowering> makeTensorCoreBackwardKernel(func::FuncOp flash,
                                                               attn::VariantOp variant,
                                                               const FlashFormDetail &form);
/// The workgroup buffers of the tensor-core backward kernel: Q and dO rows, K and V
/// tiles, the dSᵀ tile (16-bit, SharedTileLayout's columns), lse and δ (f32).
SmallVector<std::pair<SmallVector<int64_t>, bool>> tensorCoreBackwardBuffers(int64_t bq, int64_t bk,
                                                                        int64_t d, int64_t dv);
/// Workgroup memory of the SIMT backward kernel with `form`'s tiles.
int64_t simtBackwardSharedBytes(const FlashFormDetail &form);
/// Whether the tensor-core kernel takes `form` with `stages` K/V buffers and
/// warps of `rowsPerWarp` query rows (16 or 32): f16 or bf16, block-q up to 128
/// in 1 to 8 such warps, key tiles in steps of 16, and the Q tile and the K and V
/// tiles (16-bit) within kMaxSharedBytes.
bool tensorCoresFit(const FlashFormDetail &form, int64_t stages, int64_t rowsPerWarp);
/// The tensor-core kernel (TensorCoreKernel.cpp); `form` must fit.
std::unique_ptr<GpuFlashLowering> makeTensorCoreKernel(func::FuncOp flash,
                                                       attn::VariantOp variant,
                                                       const FlashFormDetail &form,
                                                       int64_t stages, int64_t rowsPerWarp);

} // namespace attnc::cuda::detail

#endif // ATTNC_COMPILER_TARGETS_CUDA_GPUFLASHLOWERING_H
