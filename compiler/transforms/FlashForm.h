//===- FlashForm.h - reading the flash form's layout --------------*- C++ -*-===//
//
// attn-tile-flash marks each scratch tile of a `@X_flash` function with its role
// (`attn.scratch` = "scores", "acc", "max", "sum", "alpha"); targets read the tile
// sizes off the score tile, and find each flash function's variant.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
#define ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H

#include "dialect/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

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

/// Calls `fn(flash, variant)` for each flash-form function of `module` (a func.func
/// with an `attn.variant` reference); an unknown variant is reported (prefixed with
/// `pass`) and stops the walk with failure.
inline mlir::LogicalResult
forEachFlashFunction(mlir::ModuleOp module, llvm::StringRef pass,
                     llvm::function_ref<mlir::LogicalResult(mlir::func::FuncOp,
                                                            attn::VariantOp)> fn) {
  llvm::SmallVector<mlir::func::FuncOp> flashes;
  module.walk([&](mlir::func::FuncOp f) {
    if (f->hasAttr("attn.variant"))
      flashes.push_back(f);
  });
  mlir::SymbolTable symbols(module);
  for (mlir::func::FuncOp f : flashes) {
    auto ref = f->getAttrOfType<mlir::FlatSymbolRefAttr>("attn.variant");
    auto variant = symbols.lookup<attn::VariantOp>(ref.getValue());
    if (!variant)
      return f.emitError(pass) << ": unknown variant " << ref;
    if (mlir::failed(fn(f, variant)))
      return mlir::failure();
  }
  return mlir::success();
}

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_FLASHFORM_H
