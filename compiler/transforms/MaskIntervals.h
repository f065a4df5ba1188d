//===- MaskIntervals.h - classify a tile pair by its mask ---------*- C++ -*-===//
//
// Block sparsity by abstract interpretation (docs/cpu-target.md, "Block sparsity"):
// the mask_mod region is re-emitted over intervals — every i64 value becomes a
// [lo, hi] pair of SSA values, every i1 a (can be false, can be true) pair — with
// q_idx ∈ [q0, q1] and kv_idx ∈ [k0, k1]. The result says whether a (query tile,
// key tile) pair is empty (0), full (1) or partial (2). Anything the interpretation
// cannot bound (floats, buffer reads, remainders) is "unknown", which is always
// sound: unknown masks give "partial". Shared by every target that lowers
// attn.tile_mask_class.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TRANSFORMS_MASKINTERVALS_H
#define ATTNC_COMPILER_TRANSFORMS_MASKINTERVALS_H

#include "dialect/AttnOps.h"

#include "mlir/IR/Builders.h"

namespace attnc {

/// Emits scalar code computing the class (0 empty, 1 full, 2 partial; index type)
/// of the tile pair. All index operands are `index`; `scalars` are the variant's
/// run-time scalars in declaration order.
mlir::Value emitMaskClass(mlir::OpBuilder &b, mlir::Location loc,
                          attn::VariantOp variant, mlir::Value batch, mlir::Value head,
                          mlir::Value q0, mlir::Value q1, mlir::Value k0,
                          mlir::Value k1, mlir::Value qLen, mlir::Value kvLen,
                          mlir::ValueRange scalars);

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_MASKINTERVALS_H
