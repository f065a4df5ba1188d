//===- AttnOps.h - attn dialect operations ----------------------*- C++ -*-===//
//
// Operations of the attn dialect (generated from AttnOps.td).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_DIALECT_ATTNOPS_H
#define ATTNC_DIALECT_ATTNOPS_H

#include "dialect/AttnAttrs.h"
#include "dialect/AttnDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/AttnOps.h.inc"

namespace attnc::attn {
/// Names that a spec may not use for constants, scalars or buffers: the region
/// arguments, literals, word operators and built-in functions.
bool isReservedName(llvm::StringRef name);
} // namespace attnc::attn

#endif // ATTNC_DIALECT_ATTNOPS_H
