//===- TensorCoreKernel.h - the tensor-core realisation of the flash form -*- C++ -*-===//
//
// Private to the CUDA target. FlashAttention-2's arrangement for f16/bf16:
// warps (1 to 8) of 16 or 32 query rows (mTiles = 1 or 2 mma row tiles of 16;
// with 2, every K and V fragment a warp loads feeds two mma). The flash form's
// scratch tiles live in registers: the scores as mTiles x nTiles mma accumulator
// fragments of 16 x 8 (f32), then as 16-bit A fragments once the softmax has made
// them P; the accumulator as mTiles x vTiles fragments; max, sum and alpha as two
// values per lane and row tile (its rows g and g + 8 of the tile). They are the
// walk's running state, carried through the loops and branches it rebuilds.
//
// The key loop (TensorCorePipeline.cpp) stages the Q tile once and keeps its A
// fragments, runs only up to the last key tile the mask keeps, and fetches K and
// V tiles into a ring of `stages` workgroup buffers with cp.async ahead of use
// (plain loads into buffer 0 when rows are not 16-byte aligned). The tile ops
// (TensorCoreKernel.cpp) compute S = Q·Kᵀ and O += P·V with mma.sync m16n8k16.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_TENSORCOREKERNEL_H
#define ATTNC_COMPILER_TARGETS_CUDA_TENSORCOREKERNEL_H

#include "compiler/targets/cuda/MmaLowering.h"

namespace attnc::cuda::detail {

class TensorCoreKernel : public MmaLowering {
public:
  TensorCoreKernel(func::FuncOp flash, attn::VariantOp variant, const FlashFormDetail &form,
                   int64_t stages, int64_t rowsPerWarp)
      : MmaLowering(flash, variant, form), stages(stages), mTiles(rowsPerWarp / 16),
        Dp((D + 15) / 16 * 16), DVp((DV + 7) / 8 * 8), kSteps(Dp / 16), nTiles(BK / 8),
        vTiles(DVp / 8), qkLayout(Dp), vLayout(DVp) {}

private:
  // --- the launch ------------------------------------------------------------------
  int64_t threadsPerBlock() const override { return BQ / (16 * mTiles) * 32; }
  SmallVector<MemRefType> workgroupBuffers() override;
  void enterKernel(ValueRange buffers) override;
  LogicalResult realizeScratch(memref::AllocaOp op, StringRef role) override;
  SmallVector<Value> runningState() override;
  void setRunningState(ValueRange state) override;

  // --- the key loop (TensorCorePipeline.cpp) ---------------------------------------
  LogicalResult emitKeyLoop(scf::ForOp op) override;
  /// Stages the Q tile and, where they stay in registers, loads the warp's A
  /// fragments (ldmatrix x4).
  void loadQueryFragments(attn::TileScoresOp scores);
  /// Whether Q's A fragments stay in registers for the whole key loop: always with
  /// 16-row warps, and with 32-row warps up to head dim 64 (32 registers). Above,
  /// 32-row warps load them from the staged Q tile at every key tile, as
  /// FlashAttention-2 does for head dim 128 (2 row tiles x 8 k-steps would be 64
  /// registers; instead 16 more ldmatrix per 64-key tile, 0.31 per mma in all).
  /// With 16-row warps a Q fragment would feed only block-kv / 8 mma per load.
  bool queryFragmentsInRegisters() const { return mTiles == 1 || kSteps <= 4; }
  /// The A fragment of row tile m and k-step k, by ldmatrix from the Q tile.
  Value loadQueryFragment(int64_t m, int64_t k);
  /// The A fragments of k-step k for every row tile (kept or loaded).
  SmallVector<Value> queryFragments(int64_t k);
  /// The exclusive end of the key tiles the mask keeps (the loop's end without one).
  Value lastKeptTileEnd(Value first, Value end);
  /// The key loop with K/V tiles fetched `stages - 1` ahead by cp.async.
  LogicalResult emitPipelinedTiles(Value first, Value end, attn::TileScoresOp scores,
                                   attn::TilePVOp pv);
  /// The key loop with K/V tiles staged by plain loads into buffer 0.
  LogicalResult emitStagedTiles(Value first, Value end);
  /// cp.async of the K and V tiles of key tile `kt` into buffer `buf`.
  void prefetchTile(Value kt, Value buf);
  /// The same with cp.async into tile[buf] (16-byte chunks; the caller commits).
  void stageAsync(Value tensor, Value tile, const SharedTileLayout &layout, Value buf,
                  Value batch, Value head, Value r0, int64_t rows, int64_t cols, int64_t valid,
                  Value limit);
  /// Whether every 8-element chunk of `tensor`'s rows is 16-byte aligned (cp.async).
  Value cpAsyncAligned(Value tensor);
  /// `tensor` retyped with a static innermost stride of 1 (where cpAsyncAligned).
  Value withUnitInnerStride(Value tensor);

  // --- the tile ops (TensorCoreKernel.cpp) -------------------------------------------
  LogicalResult emitInit(attn::TileInitOp op) override;
  LogicalResult emitScores(attn::TileScoresOp op) override;
  LogicalResult emitMods(attn::TileModsOp op) override;
  LogicalResult emitSoftmax(attn::TileSoftmaxOp op) override;
  LogicalResult emitPV(attn::TilePVOp op) override;
  LogicalResult emitStore(attn::TileStoreOp op) override;
  /// Replaces each element of the score fragments by f(score, row, kv): its query
  /// row and key index for the tiles at q0 and k0.
  void mapScores(Value q0, Value k0, function_ref<Value(Value, Value, Value)> f);
  /// score_mod on every element of the score fragments, with no lane mask (for a
  /// score_mod that cannot fail, on a tile the mask does not apply to).
  void modifyEveryScore(attn::TileModsOp op, ScalarRegionEmitter &regions);
  /// Keys past the sequence become -inf, on the last key tile alone (the rest of
  /// tile_mods on a tile the mask does not apply to).
  void maskKeysPastEnd(Value k0, Value kvLen);
  /// O *= alpha, skipped by lanes whose rows kept their maximum.
  void rescaleAccumulator();
  /// c of the base-2 softmax (OnlineSoftmax.h): log2(e) per score unit.
  double log2PerUnit() const { return scoreUnit * 1.4426950408889634; }
  /// The query index of the lane's row r = 2m + i of row tile m (g or g + 8 of
  /// the tile's 16 rows) in the query tile at q0.
  Value fragmentRow(Value q0, int64_t r) {
    int64_t m = r / 2, i = r % 2;
    return add(q0, add(warpRow, add(g, idx(16 * m + 8 * i))));
  }
  /// The B fragments of key tiles n and n + 1 (or n alone when it is the last) for
  /// Q·Kᵀ's k-step k, by one ldmatrix.
  SmallVector<Value> keyFragments(int64_t n, int64_t k);
  /// The B fragments of output tiles j and j + 1 (or j alone) for P·V's key step s.
  SmallVector<Value> valueFragments(int64_t j, int64_t s);
  /// d[m][col + i] += a[m][step] · bFrag[i] for every row tile m (a holds aSteps
  /// fragments per row tile, d dTiles): each B fragment, loaded once, feeds the
  /// mma of every row tile.
  void mmaRowTiles(ArrayRef<Value> a, int64_t aSteps, int64_t step, ArrayRef<Value> bFrag,
                   SmallVector<Value> &d, int64_t dTiles, int64_t col);
  /// P's A fragment of row tile m for P·V's key step s (16 rows x 16 keys, from
  /// registers).
  Value probabilityFragment(int64_t m, int64_t s);

  int64_t stages; ///< K/V tiles in workgroup memory (the cp.async pipeline depth)
  int64_t mTiles; ///< 16-row mma tiles of query rows per warp (1 or 2)
  int64_t Dp, DVp; ///< head dims padded for the tensor cores (16, 8)
  int64_t kSteps, nTiles, vTiles; ///< fragments: Q·Kᵀ depth, score and output tiles
  SharedTileLayout qkLayout, vLayout; ///< of the Q tile and K ring, and of the V ring

  // Per block: the staged Q tile and the K and V rings.
  Value qTile, kRing, vRing;
  // Per lane: its warp's first row.
  Value warpRow;
  // Q's ldmatrix lane address (row tile 0, k-step 0); whether Q is staged.
  Value qRow, qCol;
  bool queryStaged = false;
  // The key tile being computed: its buffer in the rings, and what makes it ready
  // (the cp.async wait and barrier), or plain staging when `staged`.
  Value buffer;
  std::function<void()> ready;
  bool staged = false;
  Value kvHead, batch; ///< the K/V head and batch of the key loop
  Value kUnit, vUnit;  ///< k and v typed with a unit inner stride (cp.async)

  /// Natural scores per unit of the scores the kernel keeps: the softmax scale when
  /// it is folded into the exponentials (no score_mod reads the scaled score and
  /// the scale is positive, so maxima commute with it), else 1.
  double scoreUnit = 1;

  // The running state (see the file comment); empty vectors where not yet defined.
  // Fragments of row tile m come m-major: qFrag[m * kSteps + k], scores and
  // probs[m * nTiles + n], acc[m * vTiles + j]; max, sum and alpha[2m + i].
  SmallVector<Value> qFrag;
  SmallVector<Value> max, sum, alpha, acc, scores, probs;
};

} // namespace attnc::cuda::detail

#endif // ATTNC_COMPILER_TARGETS_CUDA_TENSORCOREKERNEL_H
