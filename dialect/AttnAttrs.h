//===- AttnAttrs.h - attn dialect attributes --------------------*- C++ -*-===//
//
// Attributes of the attn dialect and the symbolic buffer dimensions they use.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_DIALECT_ATTNATTRS_H
#define ATTNC_DIALECT_ATTNATTRS_H

#include "dialect/AttnDialect.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringRef.h"
#include <optional>

namespace attnc::attn {

/// Symbolic buffer dimensions, bound at run time. Stored in a buffer declaration's
/// shape as these negative codes; positive entries are fixed sizes.
enum class SymbolicDim : int64_t {
  B = -1,
  H = -2,
  H_KV = -3,
  Q_LEN = -4,
  KV_LEN = -5,
};

/// "B", "H", ... for a symbolic code; empty for a fixed size.
llvm::StringRef symbolicDimName(int64_t dim);
/// The code of a symbolic dimension name, if `name` is one.
std::optional<int64_t> symbolicDimFromName(llvm::StringRef name);
inline bool isSymbolicDim(int64_t dim) { return dim < 0 && dim >= -5; }

} // namespace attnc::attn

#define GET_ATTRDEF_CLASSES
#include "dialect/AttnAttrs.h.inc"

#endif // ATTNC_DIALECT_ATTNATTRS_H
