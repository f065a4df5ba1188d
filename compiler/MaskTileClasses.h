//===- MaskTileClasses.h - the tile classes a kernel will use ----*- C++ -*-===//
//
// Which (query tile, key tile) pairs a kernel skips (empty), computes without
// mask_mod (full) or masks pair by pair (partial), for one call: the class code the
// kernels themselves emit (emitMaskClass, MaskIntervals.h), compiled on its own for
// the host and evaluated for every tile. `attnc viz` draws them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_MASKTILECLASSES_H
#define ATTNC_COMPILER_MASKTILECLASSES_H

#include "runtime/Status.h"
#include "runtime/Variant.h"

#include "mlir/IR/BuiltinOps.h"

#include <vector>

namespace attnc {

enum class TileClass : int8_t { Empty = 0, Full = 1, Partial = 2 };

/// The classes of the tiles of `blockQ` x `blockKV` covering `call`'s (q, kv) plane
/// for batch `b` and head `h`, row-major (ceil(Q / blockQ) rows of ceil(KV /
/// blockKV)). `module` holds the spec's attn.variant after attn-simplify (not
/// changed); `scalars` are the call's scalar values in the variant's order.
Result<std::vector<TileClass>> maskTileClasses(mlir::ModuleOp module, int64_t blockQ,
                                               int64_t blockKV, int64_t qLen, int64_t kvLen,
                                               int64_t b, int64_t h,
                                               const std::vector<ScalarValue> &scalars);

} // namespace attnc

#endif // ATTNC_COMPILER_MASKTILECLASSES_H
