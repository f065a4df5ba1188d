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
// The base-2 form (the tensor-core kernel): scores are kept in units of `unit`
// natural scores (the softmax scale, when it is folded out of Q·Kᵀ), and with
// c = unit · log2(e) every exponential becomes one exp2 of a fused multiply-add:
//   alpha = exp2((m - m^) · c),  p_j = exp2(fma(s_j, c, -m^ · c)),
//   lse = m · unit + log(l)
// (exp2 is a single ex2.approx on NVIDIA GPUs; exp is ~9 instructions).
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
  mlir::Value bias;     ///< base-2 form only: -m^ · c
};

/// m', m^ and alpha from the old running maximum and the tile's row maximum.
RowRescale rescaleRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value oldMax,
                      mlir::Value tileMax);

/// The base-2 form (see the file comment) of rescaleRow; `log2PerUnit` is c.
RowRescale rescaleRowBase2(mlir::OpBuilder &b, mlir::Location loc, mlir::Value oldMax,
                           mlir::Value tileMax, double log2PerUnit);

/// The base-2 form of probability: exp2(fma(s, c, bias)).
mlir::Value probabilityBase2(mlir::OpBuilder &b, mlir::Location loc, mlir::Value score,
                             mlir::Value bias, double log2PerUnit);

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

/// The result of a row with running maximum `max` and sum `sum` (a maximum in
/// units of `unit` natural scores in the base-2 form).
RowResult finishRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value max,
                    mlir::Value sum, double unit = 1);

} // namespace attnc::codegen

#endif // ATTNC_COMPILER_CODEGEN_ONLINESOFTMAX_H
