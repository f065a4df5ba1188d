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

#include "compiler/targets/cuda/GpuFlashLowering.h"
#include "compiler/targets/cuda/SharedTileLayout.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace attnc::cuda::detail {

class TensorCoreKernel : public GpuFlashLowering {
public:
  TensorCoreKernel(func::FuncOp flash, attn::VariantOp variant, const FlashFormDetail &form,
                   int64_t stages, int64_t rowsPerWarp)
      : GpuFlashLowering(flash, variant, form), stages(stages), mTiles(rowsPerWarp / 16),
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
  /// Copies rows [r0, r0 + rows) x [0, cols) of a 4-D tensor into a workgroup
  /// tile (at `prefix`, laid out by `layout`), zero outside `limit` rows and `valid`
  /// columns.
  void stageF16(Value tensor, Value tile, const SharedTileLayout &layout, ValueRange prefix,
                Value batch, Value head, Value r0, int64_t rows, int64_t cols, int64_t valid,
                Value limit);
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
  /// The max (or sum) of `v` over the 4 lanes of a quad (lanes 4g .. 4g + 3 hold
  /// the same rows of an mma fragment).
  Value quadReduce(Value v, bool isMax);
  Value extract(Value v, int64_t i, int64_t j) {
    return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i, j});
  }
  Value insert(Value x, Value v, int64_t i, int64_t j) {
    return vector::InsertOp::create(b, loc, x, v, ArrayRef<int64_t>{i, j});
  }
  Value zeros(VectorType type) {
    return arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
  }
  VectorType halfFragment(int64_t n) { return VectorType::get({n, 2}, half()); }
  VectorType accFragment() { return VectorType::get({2, 2}, b.getF32Type()); }
  Type half() { return form.elementType(); }
  Value mma(Value a, Value bm, Value c) {
    return nvgpu::MmaSyncOp::create(b, loc, a, bm, c, ArrayRef<int64_t>{16, 8, 16});
  }
  Value ldmatrix(Value tile, ValueRange at, int64_t n, bool trans) {
    return nvgpu::LdMatrixOp::create(b, loc, halfFragment(n), tile, at, b.getBoolAttr(trans),
                                     b.getI32IntegerAttr(int32_t(n)));
  }
  /// ldmatrix of the lane's row `row` and logical column `laneCol + constCol` of
  /// `tile` (in ring buffer `buf` when given), laid out by `layout`.
  Value ldmatrixAt(Value tile, const SharedTileLayout &layout, Value buf, Value row,
                   Value laneCol, int64_t constCol, int64_t n, bool trans);
  /// Rows [2i, 2i + 2) of an ldmatrix.x4 result: the fragment of its i-th pair of
  /// matrices.
  Value fragmentPair(Value x4, int64_t i) {
    // Row by row: n-D strided slices do not reach LLVM (registers are arrays of
    // vector<2xf16> there).
    Value pair = zeros(halfFragment(2));
    for (int64_t r = 0; r < 2; ++r) {
      Value row = vector::ExtractOp::create(b, loc, x4, ArrayRef<int64_t>{2 * i + r});
      pair = vector::InsertOp::create(b, loc, row, pair, ArrayRef<int64_t>{r});
    }
    return pair;
  }
  /// B fragments from the tile being computed in `ring`, at the lane's `row` and
  /// logical column `col + constCol`: two from an ldmatrix.x4, or one from an x2
  /// when `single`.
  SmallVector<Value> ringFragments(Value ring, const SharedTileLayout &layout, Value row,
                                   Value col, int64_t constCol, bool single, bool trans);
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
  // Per lane: its warp's first row, fragment row group g and column pair t.
  Value lane, warpRow, g, t;
  // Q's ldmatrix lane address (row tile 0, k-step 0); whether Q is staged.
  Value qRow, qCol;
  bool queryStaged = false;
  // ldmatrix lane addresses (rows and logical columns relative to the block read):
  // K (x4: two key tiles x two 8-column halves) and V (x4.trans: two key halves x
  // two output tiles).
  Value kRow, kCol, vRow, vCol;
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
