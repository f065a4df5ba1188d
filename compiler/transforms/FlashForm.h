//===- FlashForm.h - reading the flash form's layout --------------*- C++ -*-===//
//
// attn-tile-flash marks each scratch tile of a `@X_flash` function with its role
// (`attn.scratch` = "scores", "acc", "max", "sum", "alpha"); targets read the tile
// sizes off the score tile.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
#define ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <optional>
#include <utility>

namespace attnc {

/// (block-q, block-kv) of a flash-form function: the shape of its score tile, or
/// nothing if it has none.
inline std::optional<std::pair<int64_t, int64_t>> flashTileSizes(mlir::func::FuncOp flash) {
  std::optional<std::pair<int64_t, int64_t>> sizes;
  flash.walk([&](mlir::memref::AllocaOp a) {
    if (auto role = a->getAttrOfType<mlir::StringAttr>("attn.scratch"))
      if (role.getValue() == "scores")
        sizes = std::make_pair(a.getType().getDimSize(0), a.getType().getDimSize(1));
  });
  return sizes;
}

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
