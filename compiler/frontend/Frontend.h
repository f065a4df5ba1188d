//===- Frontend.h - spec file → verified attn module -------------*- C++ -*-===//
//
// The frontend's entry point: reads and checks a spec, builds its attn IR, and
// verifies it. Errors are emitted as MLIR diagnostics located in the spec file.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_FRONTEND_FRONTEND_H
#define ATTNC_COMPILER_FRONTEND_FRONTEND_H

#include "compiler/frontend/Spec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace attnc::frontend {

/// Registers every dialect the frontend's output uses.
void registerFrontendDialects(mlir::DialectRegistry &registry);

/// Imports the spec `text` read from `filename`. Returns null after emitting at least
/// one error diagnostic.
/// If `specOut` is given, the checked spec (with its typed expression trees) is
/// moved into it on success.
mlir::OwningOpRef<mlir::ModuleOp> importSpec(llvm::StringRef filename,
                                             llvm::StringRef text,
                                             mlir::MLIRContext *ctx,
                                             Spec *specOut = nullptr);

} // namespace attnc::frontend

#endif // ATTNC_COMPILER_FRONTEND_FRONTEND_H
