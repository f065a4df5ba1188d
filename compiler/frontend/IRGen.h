//===- IRGen.h - build attn IR from a checked spec ---------------*- C++ -*-===//
//
// Turns a `Spec` into a module holding the `attn.variant` and a function
// `@<name>_forward` that applies it to q/k/v with `attn.attention`. Every op gets the
// FILE:LINE:COL location of the spec text it came from.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_IRGEN_H
#define ATTNC_COMPILER_FRONTEND_IRGEN_H

#include "compiler/frontend/JsonSourceMap.h"
#include "compiler/frontend/Spec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace attnc::frontend {

/// Maps byte offsets of the spec file to MLIR locations.
class SpecLocations {
public:
  SpecLocations(mlir::MLIRContext *ctx, llvm::StringRef filename,
                std::string_view text)
      : ctx(ctx), filename(filename.str()), map(text) {}
  mlir::Location at(size_t offset) const;

private:
  mlir::MLIRContext *ctx;
  std::string filename;
  JsonSourceMap map;
};

/// Builds the module for `spec`. The result is not yet verified.
mlir::OwningOpRef<mlir::ModuleOp> generateIR(const Spec &spec,
                                             const SpecLocations &locs,
                                             mlir::MLIRContext *ctx);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_IRGEN_H
