//===- AttnDialect.cpp - the attn dialect ---------------------------------===//
//
// Registers the attn dialect's operations and attributes, and verifies the
// dialect's attributes on other dialects' ops (attn.scratch, attn.variant).
//
//===----------------------------------------------------------------------===//
#include "dialect/AttnDialect.h"
#include "dialect/AttnAttrs.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace attnc::attn;

#include "dialect/AttnDialect.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/AttnOps.cpp.inc"
      >();
  registerAttributes();
}

ArrayRef<StringRef> AttnDialect::scratchRoles() {
  static const StringRef roles[] = {"scores", "acc",    "max",     "sum",   "alpha", "probs",
                                    "dprobs", "dscores", "delta", "dk",      "dv"};
  return roles;
}

/// `attn.scratch = "ROLE"` on a memref.alloca, ROLE one of scratchRoles();
/// `attn.variant = @V` on a func.func, @V an attn.variant of the enclosing module;
/// `attn.backward` (unit) on a func.func with `attn.variant`: the backward flash form.
LogicalResult AttnDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == "attn.scratch") {
    if (!isa<memref::AllocaOp>(op))
      return op->emitError("'attn.scratch' marks a flash form's memref.alloca, not '")
             << op->getName() << "'";
    auto role = dyn_cast<StringAttr>(attr.getValue());
    if (role && llvm::is_contained(scratchRoles(), role.getValue()))
      return success();
    auto diag = op->emitError("'attn.scratch' must be one of ");
    llvm::interleaveComma(scratchRoles(), diag, [&](StringRef r) { diag << "\"" << r << "\""; });
    return diag << ", got " << attr.getValue();
  }
  if (name == "attn.backward") {
    if (!isa<func::FuncOp>(op) || !op->hasAttr("attn.variant") || !isa<UnitAttr>(attr.getValue()))
      return op->emitError("'attn.backward' is a unit attribute of a flash-form func.func "
                           "(one with 'attn.variant')");
    return success();
  }
  if (name == "attn.variant") {
    if (!isa<func::FuncOp>(op))
      return op->emitError("'attn.variant' marks a flash-form func.func, not '")
             << op->getName() << "'";
    auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue());
    if (!ref)
      return op->emitError("'attn.variant' must be a symbol reference, got ") << attr.getValue();
    if (!isa_and_nonnull<VariantOp>(SymbolTable::lookupNearestSymbolFrom(op, ref)))
      return op->emitError("'attn.variant' names ") << ref << ", which is not an attn.variant";
    return success();
  }
  // The cuda-emu lowering's bookkeeping on the module (its kernel table and source
  // locations) is its own to check.
  if (name.starts_with("attn.emu."))
    return success();
  return op->emitError("unknown attn dialect attribute '") << name << "'";
}
