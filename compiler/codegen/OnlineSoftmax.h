//===- OnlineSoftmax.h - the online softmax, defined once ---------*- C++ -*-===//
//
// The arithmetic of attn.tile_softmax and attn.tile_store, shared by every target:
// the CPU applies it to vectors of one row, the SIMT kernel to a thread's row, the
// tensor-core kernel to a lane's fragment rows. Each function works on f32 scalars
// and on vectors of f32 alike (arith and math ops are elementwise); how a row's
// maximum and sum are reduced (a vector reduction, a loop, quad shuffles) is the
// target's part.
//
// Per row, when a tile with scores s_j arrives:
//   m'    = maxnum(m, max_j s_j)          NaN scores do not become the maximum; they
//                                         still reach the row through exp (NaN row)
//   m^    = m' == -inf ? 0 : m'           so that exp(-inf - m^) is 0, never NaN
//   alpha = exp(m - m^)                   rescales the accumulator and the sum
//   p_j   = exp(s_j - m^)                 0 for a masked score (-inf)
//   l'    = alpha * l + sum_j p_j
// and when the row is finished:
//   out = acc * (l == 0 ? 0 : 1 / l),  lse = l == 0 ? -inf : m + log(l)
// (a row with nothing kept gives out 0 and lse -inf, never NaN).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_CODEGEN_ONLINESOFTMAX_H
#define ATTNC_COMPILER_CODEGEN_ONLINESOFTMAX_H

#include "mlir/IR/Builders.h"

namespace attnc::codegen {

/// The running maximum of a row: maxnum(x, y).
mlir::Value combineMax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y);

/// What a new tile does to a row's running state.
struct RowRescale {
  mlir::Value max;      ///< m', the new running maximum
  mlir::Value safeMax;  ///< m^, the maximum that exponents subtract
  mlir::Value alpha;    ///< exp(m - m^), the factor for the accumulator and sum
};

/// m', m^ and alpha from the old running maximum and the tile's row maximum.
RowRescale rescaleRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value oldMax,
                      mlir::Value tileMax);

/// p = exp(s - m^) (`safeMax` has the type of `score`: splat it for vectors).
mlir::Value probability(mlir::OpBuilder &b, mlir::Location loc, mlir::Value score,
                        mlir::Value safeMax);

/// l' = alpha * l + tileSum.
mlir::Value rescaledSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value sum,
                        mlir::Value alpha, mlir::Value tileSum);

/// A finished row: the factor for its accumulator and its log-sum-exp.
struct RowResult {
  mlir::Value outScale; ///< l == 0 ? 0 : 1 / l
  mlir::Value lse;      ///< l == 0 ? -inf : m + log(l)
};

/// The result of a row with running maximum `max` and sum `sum`.
RowResult finishRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value max,
                    mlir::Value sum);

} // namespace attnc::codegen

#endif // ATTNC_COMPILER_CODEGEN_ONLINESOFTMAX_H
