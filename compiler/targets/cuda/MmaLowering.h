//===- MmaLowering.h - mma.sync fragments for the GPU kernels -----*- C++ -*-===//
//
// Private to the CUDA target. What the forward and backward tensor-core kernels
// share: the m16n8k16 fragments of a warp (16-bit A and B operands, f32
// accumulators), ldmatrix from 16-bit workgroup tiles laid out by
// SharedTileLayout, staging such tiles, and reductions over a quad of lanes.
//
// A lane l of a warp holds, of an accumulator fragment (16 x 8, f32, vector<2x2>),
// elements (g + 8i, 2t + e) for i, e in {0, 1}, with g = l / 4 and t = l % 4; of an
// A fragment (16 x 16, vector<4x2>) row r holds (g + 8 (r % 2), 2t + 8 (r / 2) + e);
// of a B fragment (16 x 8, vector<2x2>) row r holds (2t + 8r + e, g). ldmatrix
// loads four (x4) or two (x2) 8 x 8 matrices, lane l giving the address of row l % 8
// of matrix l / 8; .trans transposes each matrix. The lane addresses below pick the
// matrices for each operand form:
//
//   A, row-major source (rows = A's rows):       aRow, aCol
//   B pairs, source rows = B's columns (Kᵀ):     bRow, bCol   (two n-tiles per x4)
//   B pairs, source rows = B's rows (.trans, V): tRow, tCol   (two n-tiles per x4)
//
// and A from a transposed source (.trans, rows = A's columns) uses bRow, bCol.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_MMALOWERING_H
#define ATTNC_COMPILER_TARGETS_CUDA_MMALOWERING_H

#include "compiler/targets/cuda/GpuFlashLowering.h"
#include "compiler/targets/cuda/SharedTileLayout.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace attnc::cuda::detail {

class MmaLowering : public GpuFlashLowering {
public:
  using GpuFlashLowering::GpuFlashLowering;

protected:
  /// Sets the lane's indices (lane, g, t) and its ldmatrix addresses from `tid`.
  void enterWarps() {
    lane = remc(tid, 32);
    g = divc(lane, 4);
    t = remc(lane, 4);
    Value r8 = remc(lane, 8), matrix = divc(lane, 8);
    aRow = add(r8, mulc(remc(matrix, 2), 8));
    aCol = mulc(divc(matrix, 2), 8);
    bRow = add(r8, mulc(divc(lane, 16), 8));
    bCol = mulc(remc(matrix, 2), 8);
    tRow = remc(lane, 16);
    tCol = mulc(divc(lane, 16), 8);
  }

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
  /// The 16-bit element type of the operands.
  Type half() { return form.elementType(); }
  /// d = a · b + c (m16n8k16).
  Value mma(Value a, Value bm, Value c) {
    return nvgpu::MmaSyncOp::create(b, loc, a, bm, c, ArrayRef<int64_t>{16, 8, 16});
  }
  Value ldmatrix(Value tile, ValueRange at, int64_t n, bool trans) {
    return nvgpu::LdMatrixOp::create(b, loc, halfFragment(n), tile, at, b.getBoolAttr(trans),
                                     b.getI32IntegerAttr(int32_t(n)));
  }
  /// ldmatrix of row `laneRow + constRow` and logical column `laneCol + constCol`
  /// of `tile` (in ring buffer `buf` when given), laid out by `layout`. Where
  /// constRow is a whole number of the layout's swizzle periods, the physical
  /// column is that of laneRow, and the constant row is an immediate offset of the
  /// lane's address: the loads of a tile then share a few address registers.
  Value ldmatrixAt(Value tile, const SharedTileLayout &layout, Value buf, Value laneRow,
                   int64_t constRow, Value laneCol, int64_t constCol, int64_t n, bool trans) {
    bool periodic = constRow % layout.rowPeriod() == 0;
    Value row = constRow ? add(laneRow, idx(constRow)) : laneRow;
    Value physical = layout.column(*this, periodic ? laneRow : row, laneCol, constCol);
    SmallVector<Value> at;
    if (buf)
      at.push_back(buf);
    at.append({row, physical});
    return ldmatrix(tile, at, n, trans);
  }
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
  /// B fragments of `tile` (buffer `buf` if given) at row `laneRow + constRow` and
  /// logical column `laneCol + constCol`: two from an ldmatrix.x4, or one from an x2
  /// when `single`.
  SmallVector<Value> bFragments(Value tile, const SharedTileLayout &layout, Value buf,
                                Value laneRow, int64_t constRow, Value laneCol,
                                int64_t constCol, bool single, bool trans) {
    // x2 (a last, odd tile) reads the addresses of lanes 0-15 only.
    if (single)
      return {ldmatrixAt(tile, layout, buf, laneRow, constRow, laneCol, constCol, 2, trans)};
    Value x4 = ldmatrixAt(tile, layout, buf, laneRow, constRow, laneCol, constCol, 4, trans);
    return {fragmentPair(x4, 0), fragmentPair(x4, 1)};
  }
  /// The 16-bit A fragment (16 x 16) made of accumulator fragments `left` and
  /// `right` (columns 0-7 and 8-15), each element times `scale`.
  Value aFragmentOf(Value left, Value right, double scale = 1.0) {
    Value a = zeros(halfFragment(4));
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        Value x = extract(r < 2 ? left : right, r % 2, e);
        if (scale != 1.0)
          x = arith::MulFOp::create(b, loc, x, f32(scale));
        a = insert(arith::TruncFOp::create(b, loc, half(), x), a, r, e);
      }
    return a;
  }
  /// The max (or sum) of `v` over the 4 lanes of a quad (lanes 4g .. 4g + 3 hold
  /// the same rows of an mma fragment).
  Value quadReduce(Value v, bool isMax);
  /// Copies rows [r0, r0 + rows) x [0, cols) of a 4-D tensor into a 16-bit workgroup
  /// tile (at `prefix`, laid out by `layout`), zero outside `limit` rows and `valid`
  /// columns; element e by thread e % threadsPerBlock(). No barrier.
  void stageF16(Value tensor, Value tile, const SharedTileLayout &layout, ValueRange prefix,
                Value batch, Value head, Value r0, int64_t rows, int64_t cols, int64_t valid,
                Value limit);

  // Per lane: its index in the warp, fragment row group g and column pair t, and
  // its ldmatrix addresses (rows and logical columns, see the file comment).
  Value lane, g, t;
  Value aRow, aCol, bRow, bCol, tRow, tCol;
};

} // namespace attnc::cuda::detail

#endif // ATTNC_COMPILER_TARGETS_CUDA_MMALOWERING_H
