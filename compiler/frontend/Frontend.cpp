//===- Frontend.cpp - spec file → verified attn module ---------------------===//
#include "compiler/frontend/Frontend.h"
#include "compiler/frontend/IRGen.h"
#include "compiler/frontend/SpecReader.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

namespace attnc::frontend {

void registerFrontendDialects(DialectRegistry &registry) {
  registry.insert<attn::AttnDialect, arith::ArithDialect, func::FuncDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect>();
}

OwningOpRef<ModuleOp> importSpec(StringRef filename, StringRef text,
                                 MLIRContext *ctx, Spec *specOut) {
  DialectRegistry registry;
  registerFrontendDialects(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadAllAvailableDialects();

  std::string_view view(text.data(), text.size());
  SpecLocations locs(ctx, filename, view);
  std::vector<SpecDiagnostic> diagnostics;
  std::optional<Spec> spec = readSpec(view, diagnostics);
  if (!spec) {
    for (const SpecDiagnostic &d : diagnostics)
      emitError(locs.at(d.offset)) << d.message;
    return nullptr;
  }
  OwningOpRef<ModuleOp> module = generateIR(*spec, locs, ctx);
  if (failed(verify(*module)))
    return nullptr;
  if (specOut)
    *specOut = std::move(*spec);
  return module;
}

} // namespace attnc::frontend
